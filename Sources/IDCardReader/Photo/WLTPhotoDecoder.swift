import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KioskCore

/// Why a card photo could not be decoded.
public enum PhotoDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No decoder library is installed; the photo stays raw WLT bytes.
    case noPlugin(String)
    /// The library does not export the expected function.
    case missingSymbol(String, String)
    /// The photo is not WLT data.
    case notWLT
    /// The library reported a failure code.
    case decodeFailed(Int32)

    public var description: String {
        switch self {
        case .noPlugin(let path):
            return "no WLT photo decoder at \(path): install the reader vendor's libwlt2bmp.so there or set YITIJI_WLT_PLUGIN"
        case let .missingSymbol(path, symbol): return "\(path) does not export \(symbol)()"
        case .notWLT: return "the photo is not WLT data (header 57 4C 66 expected)"
        case .decodeFailed(let code): return "the WLT decoder failed with code \(code)"
        }
    }
}

/// Decodes the card's WLT photo through a vendor library loaded at run time (nothing proprietary
/// is linked or shipped). The usual vendor export is `int unpack(char *wlt, char *bmp, int save)`,
/// which writes a 102×126 24-bit BMP (38862 bytes).
// Unchecked: the library handle and function pointer are raw, not Sendable; calls are serialised.
public final class WLTPhotoDecoder: @unchecked Sendable {
    private typealias Unpack = @convention(c) (UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int32) -> Int32
    private let handle: UnsafeMutableRawPointer
    private let unpack: Unpack
    /// Serialises calls into the vendor library.
    private let lock = Locked(())
    /// Size of the BMP the library writes.
    public static let bitmapSize = 38_862

    /// Where the plug-in is looked for: `$YITIJI_WLT_PLUGIN`, else `/usr/lib/yitiji/libwlt2bmp.so`.
    public static var defaultPath: String {
        ProcessInfo.processInfo.environment["YITIJI_WLT_PLUGIN"] ?? "/usr/lib/yitiji/libwlt2bmp.so"
    }

    /// Loads the library at `path`, exporting `symbol`.
    public init(path: String = WLTPhotoDecoder.defaultPath, symbol: String = "unpack") throws(PhotoDecodeError) {
        guard FileManager.default.fileExists(atPath: path), let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .noPlugin(path)
        }
        guard let function = dlsym(handle, symbol) else {
            dlclose(handle)
            throw .missingSymbol(path, symbol)
        }
        self.handle = handle
        unpack = unsafeBitCast(function, to: Unpack.self)
    }

    deinit { dlclose(handle) }

    /// The photo as BMP bytes (personal data: wipe it with the session).
    public func decode(_ photo: SensitiveBytes) throws(PhotoDecodeError) -> SensitiveBytes {
        var wlt = photo.bytes.map { CChar(bitPattern: $0) }
        defer { for i in wlt.indices { wlt[i] = 0 } }
        guard wlt.count >= 3, photo.bytes.starts(with: [0x57, 0x4C, 0x66]) else { throw .notWLT }
        var bmp = [CChar](repeating: 0, count: WLTPhotoDecoder.bitmapSize + 1024)
        let code = lock.withLock { _ in unpack(&wlt, &bmp, 0) }
        guard code == 1 else {
            for i in bmp.indices { bmp[i] = 0 }
            throw .decodeFailed(code)
        }
        let result = SensitiveBytes(bmp.prefix(WLTPhotoDecoder.bitmapSize).map { UInt8(bitPattern: $0) })
        for i in bmp.indices { bmp[i] = 0 }
        return result
    }
}
