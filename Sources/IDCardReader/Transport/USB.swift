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

    /// How long past its own timeout a transfer may take to end, and then how long its
    /// cancellation may take, before the device is given up as gone. Hardware ends a cancelled
    /// transfer within milliseconds; a second leaves room for a loaded machine.
    static let graceMilliseconds = 1000

    /// One transfer: OUT sends `data`; IN fills up to `length` bytes. Returns the bytes read (IN)
    /// or an empty array (OUT).
    ///
    /// Never waits much past `timeoutMilliseconds`: libusb's own timeout cancels the transfer;
    /// if it has not ended `graceMilliseconds` later it is cancelled again, and if that
    /// cancellation does not come back either (a locked-up controller or firmware), the transfer
    /// is abandoned, the device closed and `.disconnected` thrown. libusb's synchronous calls
    /// would wait for that cancellation for ever.
    public func transfer(_ kind: Kind, endpoint: UInt8, data: [UInt8] = [], length: Int = 0,
                         timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        guard let handle else { throw .disconnected }
        let isIn = endpoint & 0x80 != 0
        let count = isIn ? max(1, length) : data.count
        guard let transfer = libusb_alloc_transfer(0) else { throw .io("libusb could not allocate a transfer") }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count))
        buffer.initialize(repeating: 0, count: max(1, count))
        if !isIn { for (i, byte) in data.enumerated() { buffer[i] = byte } }
        let done = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        done.initialize(to: 0)
        defer {
            libusb_free_transfer(transfer)
            buffer.deallocate()
            done.deallocate()
        }
        let timeout = max(1, timeoutMilliseconds)
        transfer.pointee.dev_handle = handle
        transfer.pointee.endpoint = endpoint
        transfer.pointee.type = UInt8(kind == .bulk ? LIBUSB_TRANSFER_TYPE_BULK.rawValue : LIBUSB_TRANSFER_TYPE_INTERRUPT.rawValue)
        transfer.pointee.timeout = UInt32(clamping: timeout)
        transfer.pointee.buffer = buffer
        transfer.pointee.length = Int32(clamping: count)
        transfer.pointee.user_data = UnsafeMutableRawPointer(done)
        transfer.pointee.callback = { finished in
            finished?.pointee.user_data?.assumingMemoryBound(to: Int32.self).pointee = 1
        }
        let submitted = libusb_submit_transfer(transfer)
        guard submitted == 0 else { throw USBDeviceHandle.error(submitted) }

        var deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout + Self.graceMilliseconds) * 1_000_000
        var cancelled = false
        while done.pointee == 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline {
                if cancelled {
                    // The cancellation never came back: give the device up. Closing the handle
                    // takes the transfer off libusb's list, so it can be freed.
                    close()
                    throw .disconnected
                }
                _ = libusb_cancel_transfer(transfer)
                cancelled = true
                deadline = now + UInt64(Self.graceMilliseconds) * 1_000_000
                continue
            }
            let left = deadline - now
            var wait = timeval(tv_sec: Int(left / 1_000_000_000), tv_usec: Int(left % 1_000_000_000 / 1000))
            let handled = libusb_handle_events_timeout_completed(context.pointer, &wait, done)
            if handled < 0, handled != LIBUSB_ERROR_INTERRUPTED.rawValue {
                // Events cannot be handled (the device node broke): do not spin until the deadline.
                usleep(1000)
            }
        }
        let actual = Int(max(0, min(transfer.pointee.actual_length, Int32(count))))
        let named = String(format: "0x%02X", endpoint)
        switch transfer.pointee.status {
        case LIBUSB_TRANSFER_COMPLETED:
            if !isIn, actual != data.count { throw .timeout }
            return isIn ? Array(UnsafeBufferPointer(start: buffer, count: actual)) : []
        case LIBUSB_TRANSFER_TIMED_OUT, LIBUSB_TRANSFER_CANCELLED:
            if isIn, actual > 0 { return Array(UnsafeBufferPointer(start: buffer, count: actual)) }
            throw .timeout
        case LIBUSB_TRANSFER_NO_DEVICE:
            throw .disconnected
        case LIBUSB_TRANSFER_STALL:
            throw .io("endpoint \(named) stalled")
        case LIBUSB_TRANSFER_OVERFLOW:
            throw .io("the reader sent more than the \(count) bytes asked for on endpoint \(named)")
        default:
            throw .io("transfer on endpoint \(named) failed")
        }
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
