import Foundation

/// Where a result goes by post (免费邮递): personal data, sealed in the kiosk's outbox, masked on
/// screens, never logged.
public struct DeliveryAddress: Codable, Sendable, Hashable {
    /// 收件人.
    public var recipient: String
    /// 手机号码: 11 digits with a known mobile prefix.
    public var mobile: String
    /// 邮寄地址.
    public var address: String

    public init(recipient: String, mobile: String, address: String) {
        self.recipient = recipient
        self.mobile = mobile
        self.address = address
    }

    /// The three-digit prefixes of mainland mobile numbers.
    public static let mobilePrefixes: Set<String> = {
        var prefixes = Set<String>()
        for n in 130...139 { prefixes.insert(String(n)) }
        for n in [145, 146, 147, 148, 149, 150, 151, 152, 153, 155, 156, 157, 158, 159, 162, 165, 166, 167,
                  170, 171, 172, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
                  190, 191, 192, 193, 195, 196, 197, 198, 199] { prefixes.insert(String(n)) }
        return prefixes
    }()

    /// Why `mobile` is not a mobile number, or nil.
    public static func mobileProblem(_ mobile: String) -> String? {
        guard mobile.count == 11, mobile.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "a mobile number is 11 digits" }
        guard mobilePrefixes.contains(String(mobile.prefix(3))) else { return "\(mobile.prefix(3)) is not a mobile number prefix" }
        return nil
    }

    /// Which field is wrong and why, or nil when it can be posted to.
    public func problem() -> (field: String, reason: String)? {
        let name = recipient.trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name.count > 32 { return ("recipient", "the recipient's name holds 1 to 32 characters") }
        if let why = Self.mobileProblem(mobile) { return ("mobile", why) }
        let place = address.trimmingCharacters(in: .whitespaces)
        if place.count < 6 || place.count > 200 { return ("address", "an address holds 6 to 200 characters") }
        for text in [recipient, address] where text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return (text == recipient ? "recipient" : "address", "control characters are not allowed")
        }
        return nil
    }

    /// As a screen or a log may show it: 张*, 138****1234, the address's first six characters.
    public var masked: DeliveryAddress {
        DeliveryAddress(recipient: CardIdentity.maskName(recipient), mobile: Self.maskMobile(mobile),
                        address: Self.maskPlace(address))
    }

    /// An address as a screen or a log may show it: its first six characters.
    public static func maskPlace(_ address: String) -> String {
        String(address.prefix(6)) + (address.count > 6 ? "****" : "")
    }

    public static func maskMobile(_ mobile: String) -> String {
        mobile.count == 11 ? String(mobile.prefix(3)) + "****" + String(mobile.suffix(4)) : String(repeating: "*", count: mobile.count)
    }
}
