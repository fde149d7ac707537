// The wire types are part of this module's API: whoever talks to the registry uses them.
@_exported import RegistryWire
