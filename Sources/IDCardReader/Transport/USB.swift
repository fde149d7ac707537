import CLibUSB
import Foundation

/// A USB device libusb can see.
public struct USBDeviceInfo: Sendable, Equatable, CustomStringConvertible {
    public let vendorId: UInt16
    public let productId: UInt16
    public let bus: UInt8
    public let address: UInt8

    /// `0400:c35a`.
    public var usbID: String { "\(hex4(vendorId)):\(hex4(productId))" }
    public var description: String { "usb \(usbID) bus \(bus) device \(address)" }
}

/// A libusb context. One per process is enough; each transport keeps its own for isolation.
public final class USBContext: @unchecked Sendable {
    let pointer: OpaquePointer

    public init() throws(TransportError) {
        var ctx: OpaquePointer?
        let rc = libusb_init(&ctx)
        guard rc == 0, let ctx else {
            throw .openFailed(reason: "libusb could not start: \(USBContext.describe(rc))")
        }
        pointer = ctx
    }

    deinit { libusb_exit(pointer) }

    /// libusb's name and text for an error code.
    static func describe(_ code: Int32) -> String {
        String(cString: libusb_error_name(code))
    }

    /// Every USB device present now.
    public func devices() -> [USBDeviceInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(pointer, &list)
        guard count > 0, let list else { return [] }
        defer { libusb_free_device_list(list, 1) }
        var found: [USBDeviceInfo] = []
        for i in 0..<Int(count) {
            guard let device = list[i] else { continue }
            var desc = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &desc) == 0 else { continue }
            found.append(USBDeviceInfo(vendorId: desc.idVendor, productId: desc.idProduct,
                                       bus: libusb_get_bus_number(device),
                                       address: libusb_get_device_address(device)))
        }
        return found
    }

    /// Opens the first device matching the IDs (or the given bus/address) and claims `interface`.
    public func open(vendorId: UInt16, productId: UInt16, interface: Int32,
                     bus: UInt8? = nil, address: UInt8? = nil) throws(TransportError) -> USBDeviceHandle {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(pointer, &list)
        guard count >= 0, let list else {
            throw .openFailed(reason: "cannot list USB devices: \(USBContext.describe(Int32(count)))")
        }
        defer { libusb_free_device_list(list, 1) }
        for i in 0..<Int(count) {
            guard let device = list[i] else { continue }
            var desc = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &desc) == 0,
                  desc.idVendor == vendorId, desc.idProduct == productId else { continue }
            let info = USBDeviceInfo(vendorId: vendorId, productId: productId,
                                     bus: libusb_get_bus_number(device), address: libusb_get_device_address(device))
            if let bus, info.bus != bus { continue }
            if let address, info.address != address { continue }
            var handle: OpaquePointer?
            let rc = libusb_open(device, &handle)
            guard rc == 0, let handle else {
                let hint = rc == LIBUSB_ERROR_ACCESS.rawValue
                    ? " (no permission: install drivers/udev/70-yitiji-readers.rules and add the user to group yitiji)" : ""
                throw .openFailed(reason: "\(info): \(USBContext.describe(rc))\(hint)")
            }
            _ = libusb_set_auto_detach_kernel_driver(handle, 1)
            let claim = libusb_claim_interface(handle, interface)
            guard claim == 0 else {
                libusb_close(handle)
                throw .openFailed(reason: "\(info): cannot claim interface \(interface): \(USBContext.describe(claim)) (is another program using the reader?)")
            }
            return USBDeviceHandle(context: self, handle: handle, interface: interface, info: info)
        }
        throw .openFailed(reason: "no USB device \(hex4(vendorId)):\(hex4(productId)) is connected")
    }
}

/// An open, claimed USB device.
public final class USBDeviceHandle: @unchecked Sendable {
    let context: USBContext
    private var handle: OpaquePointer?
    let interface: Int32
    public let info: USBDeviceInfo

    init(context: USBContext, handle: OpaquePointer, interface: Int32, info: USBDeviceInfo) {
        self.context = context
        self.handle = handle
        self.interface = interface
        self.info = info
    }

    deinit { close() }

    public enum Kind { case bulk, interrupt }

    /// Maps a libusb result to the transport's errors.
    static func error(_ code: Int32) -> TransportError {
        switch code {
        case LIBUSB_ERROR_TIMEOUT.rawValue: return .timeout
        case LIBUSB_ERROR_NO_DEVICE.rawValue: return .disconnected
        default: return .io(USBContext.describe(code))
        }
    }

    /// One transfer: OUT sends `data`; IN fills up to `length` bytes. Returns the bytes read (IN)
    /// or an empty array (OUT).
    public func transfer(_ kind: Kind, endpoint: UInt8, data: [UInt8] = [], length: Int = 0,
                         timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        guard let handle else { throw .disconnected }
        let isIn = endpoint & 0x80 != 0
        var buffer = isIn ? [UInt8](repeating: 0, count: max(1, length)) : data
        var transferred: Int32 = 0
        let timeout = UInt32(clamping: max(1, timeoutMilliseconds))
        let rc = buffer.withUnsafeMutableBufferPointer { ptr -> Int32 in
            switch kind {
            case .bulk:
                return libusb_bulk_transfer(handle, endpoint, ptr.baseAddress, Int32(ptr.count), &transferred, timeout)
            case .interrupt:
                return libusb_interrupt_transfer(handle, endpoint, ptr.baseAddress, Int32(ptr.count), &transferred, timeout)
            }
        }
        if rc == LIBUSB_ERROR_TIMEOUT.rawValue, isIn, transferred > 0 {
            return Array(buffer.prefix(Int(transferred)))
        }
        guard rc == 0 else { throw USBDeviceHandle.error(rc) }
        if !isIn, Int(transferred) != data.count { throw .timeout }
        return isIn ? Array(buffer.prefix(Int(transferred))) : []
    }

    /// The transfer type of an endpoint, from the device's active configuration descriptor
    /// (bulk when the descriptor cannot be read).
    public func kind(ofEndpoint address: UInt8) -> Kind {
        guard let handle, let device = libusb_get_device(handle) else { return .bulk }
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        guard libusb_get_active_config_descriptor(device, &config) == 0, let config else { return .bulk }
        defer { libusb_free_config_descriptor(config) }
        for i in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[i]
            for a in 0..<Int(interface.num_altsetting) {
                let setting = interface.altsetting[a]
                for e in 0..<Int(setting.bNumEndpoints) {
                    let endpoint = setting.endpoint[e]
                    if endpoint.bEndpointAddress == address {
                        return endpoint.bmAttributes & 0x03 == 3 ? .interrupt : .bulk
                    }
                }
            }
        }
        return .bulk
    }

    /// Releases the interface and closes the device.
    public func close() {
        if let handle {
            libusb_release_interface(handle, interface)
            libusb_close(handle)
            self.handle = nil
        }
    }
}
