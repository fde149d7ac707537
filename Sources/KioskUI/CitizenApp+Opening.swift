import Foundation
import KioskAPI
import KioskCore
import KioskTerminal

/// The whole enterprise opening: the parties an application names (investors with their shares,
/// the legal representative, a supervisor, the contact), and each named person's own
/// confirmation at the kiosk.
extension CitizenApp {
    /// The roles as the party form types them: 1 investor, 2 legal representative, 3 supervisor, 4 contact.
    static let roleCodes = ["investor", "legal-representative", "supervisor", "contact"]

    /// The holder alone: investor with all shares, legal representative and contact.
    static let holderAlone = PartyDraft(idNumber: nil, name: "", roles: ["investor", "legal-representative", "contact"], shareBasisPoints: 10_000)

    /// Rows after the fields: one per party and "add a party" (applications only).
    var partyRows: Int { formMode == .application ? parties.count + 1 : 0 }

    /// The submit row's position.
    var formSubmitIndex: Int { formIndices.count + partyRows }

    /// The party row selected (`parties.count`: the "add" row), if any.
    var partyRow: Int? {
        let row = selection - formIndices.count
        return formMode == .application && (0..<partyRows).contains(row) ? row : nil
    }

    /// Whether `c` may go into `field`: the ID number takes digits and X, the roles 1 to 4 once
    /// each, the share digits and one point.
    static func accepts(_ c: Character, field: Int, in value: String) -> Bool {
        switch field {
        case 8: return value.count < 18 && (c.isASCII && c.isNumber || "xX".contains(c))
        case 10: return ("1"..."4").contains(c) && !value.contains(c)
        case 11: return value.count < 6 && (c.isASCII && c.isNumber || (c == "." && !value.contains(".")))
        default: return true
        }
    }

    /// The roles typed as digits.
    static func roles(typed: String) -> [String] {
        typed.compactMap { $0.wholeNumberValue }.filter { (1...4).contains($0) }.sorted().map { roleCodes[$0 - 1] }
    }

    /// How a party reads on the form and lists: roles, the share.
    func describe(roles: [String], share: Int?) -> String {
        roles.map { role in
            let name = t("party.role." + role)
            return role == "investor" ? name + " " + (share.map(Shares.percent) ?? "") : name
        }.joined(separator: " · ")
    }

    func openParty(_ index: Int?) {
        editingParty = index
        for field in Self.partyFields { formFields[field] = "" }
        if let index, parties.indices.contains(index) {
            let party = parties[index]
            formFields[8] = party.idNumber ?? ""
            formFields[9] = party.name
            formFields[10] = party.roles.compactMap { role in Self.roleCodes.firstIndex(of: role).map { String($0 + 1) } }.joined()
            formFields[11] = party.shareBasisPoints.map { Shares.percent($0).replacingOccurrences(of: "%", with: "") } ?? ""
        }
        formMode = .party
        inputMethod?.reset()
        selection = 0
    }

    func closePartyForm() {
        let row = editingParty ?? parties.count
        formMode = .application
        inputMethod?.reset()
        selection = formIndices.count + min(row, parties.count)
        screen = .applicationForm
    }

    /// Checks the party form and keeps the party; a problem is shown and the form stays.
    func saveParty() {
        let isHolder = editingParty.map { parties.indices.contains($0) && parties[$0].idNumber == nil } ?? false
        let id = formFields[8].trimmingCharacters(in: .whitespaces)
        let name = formFields[9].trimmingCharacters(in: .whitespaces)
        let roles = Self.roles(typed: formFields[10])
        func refuse(_ key: String, at field: Int) {
            selection = formIndices.firstIndex(of: field) ?? 0
            show(message: key, returnTo: .applicationForm)
        }
        if !isHolder {
            guard let number = try? IDNumber(id) else { return refuse("party.badId", at: 8) }
            if parties.enumerated().contains(where: { $0.offset != editingParty && $0.element.idNumber?.uppercased() == number.value }) {
                return refuse("party.twice", at: 8)
            }
            guard !name.isEmpty, name.count <= 64 else { return refuse("party.badName", at: 9) }
        }
        guard !roles.isEmpty else { return refuse("party.noRole", at: 10) }
        var share: Int?
        if roles.contains("investor") {
            guard let points = Shares.basisPoints(formFields[11]), points > 0 else { return refuse("party.badShare", at: 11) }
            share = points
        }
        let draft = PartyDraft(idNumber: isHolder ? nil : id.uppercased(), name: isHolder ? "" : name, roles: roles, shareBasisPoints: share)
        if let index = editingParty, parties.indices.contains(index) { parties[index] = draft } else {
            parties.append(draft)
            editingParty = parties.count - 1
        }
        closePartyForm()
    }

    func removeSelectedParty() {
        guard let row = partyRow, parties.indices.contains(row), parties[row].idNumber != nil else { return }
        parties.remove(at: row)
    }

    /// What the parties break (shares not 100 %, not one legal representative or contact, the
    /// legal representative also supervisor), as a text key and its values; nil when they stand.
    func partiesProblem() -> (String, [String: String])? {
        let total = parties.compactMap(\.shareBasisPoints).reduce(0, +)
        if total != 10_000 { return ("party.shares", ["sum": Shares.percent(total)]) }
        if parties.filter({ $0.roles.contains("legal-representative") }).count != 1 { return ("party.oneLegalRep", [:]) }
        if parties.filter({ $0.roles.contains("contact") }).count != 1 { return ("party.oneContact", [:]) }
        if parties.contains(where: { $0.roles.contains("legal-representative") && $0.roles.contains("supervisor") }) { return ("party.supervisor", [:]) }
        return nil
    }

    /// The parties for the application; nil when the holder alone is everything.
    var partyEntries: [PartyEntry]? {
        if parties.isEmpty || parties == [Self.holderAlone] { return nil }
        return parties.map { PartyEntry(idNumber: $0.idNumber, name: $0.idNumber == nil ? nil : $0.name, roles: $0.roles, shareBasisPoints: $0.shareBasisPoints) }
    }

    // MARK: Confirmation by a named party

    /// The applications naming the holder, after the face check.
    func openOpenings() async {
        await performNeedingFace("loading", returnTo: .menu, then: .openings) {
            let list = try await self.service.myOpenings()
            if list.openings.isEmpty {
                self.show(message: list.offline ? "opening.noneOffline" : "opening.noneMine", returnTo: .menu)
            } else {
                self.openings = list
                self.go(.openings)
            }
        }
    }

    func openingsKey(_ key: Key) async {
        let count = openings?.openings.count ?? 0
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down, .tab: selection = min(max(0, count - 1), selection + 1)
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, (1...min(9, count)).contains(n) { selection = n - 1 }
        case .escape, .backspace:
            openings = nil
            go(.menu)
        case .enter:
            guard let opening = openings?.openings[safe: selection] else { return }
            if opening.confirmedByMe { show(message: "opening.already", returnTo: .openings); return }
            if opening.stage == "lapsed" { show(message: "opening.lapsed", returnTo: .openings); return }
            let requestId = UUID().uuidString
            let index = selection
            await performNeedingFace("opening.confirming", returnTo: .openings, then: .openings) {
                let result = try await self.service.confirmOpening(trackingNumber: opening.trackingNumber, requestId: requestId)
                // Where it stands now; offline the list keeps what was shown, this one marked confirmed.
                if let fresh = try? await self.service.myOpenings(), !fresh.offline {
                    self.openings = fresh
                } else if self.openings?.openings.indices.contains(index) == true {
                    self.openings?.openings[index].confirmedByMe = true
                }
                self.show(message: result.messageKey, returnTo: .openings)
                self.messageValues = ["n": result.confirmedCount.map(String.init) ?? "", "m": result.partyCount.map(String.init) ?? "",
                                      "name": opening.proposedName]
                self.selection = index
            }
        default: break
        }
    }

    // MARK: Drawing

    /// The party rows of the application form, from `row`; answers the next free row.
    func drawPartyRows(_ c: inout Canvas, from start: Int) -> Int {
        var row = start
        c.buffer.put(t("party.heading"), x: 2, y: min(row, c.height - 6), style: .dim)
        row += 1
        for (index, party) in parties.enumerated() where row < c.height - 5 {
            let who = party.idNumber.map { party.name + " " + IDNumber.mask($0) } ?? ((holder?.maskedName ?? "") + t("party.self"))
            let line = "\(index + 1). " + who + "  " + describe(roles: party.roles, share: party.shareBasisPoints)
            c.item(TextLayout.truncate(line, width: c.width - 8), row: row, selected: selection == formIndices.count + index)
            row += 1
        }
        c.item(t("party.add"), row: min(row, c.height - 5), selected: selection == formIndices.count + parties.count)
        return row + 1
    }

    func drawPartyForm(_ c: inout Canvas) {
        let isHolder = editingParty.map { parties.indices.contains($0) && parties[$0].idNumber == nil } ?? false
        c.buffer.put(t("party.title"), x: 2, y: 2, style: .title)
        if isHolder { c.buffer.put(t("party.you") + ": " + (holder?.maskedName ?? ""), x: 2, y: 3) }
        let indices = formIndices
        let labelWidth = indices.map { DisplayWidth.of(t(Self.formKeys[$0])) }.max() ?? 10
        var row = 5
        for (position, field) in indices.enumerated() {
            let editing = selection == position
            c.buffer.put(TextLayout.pad(t(Self.formKeys[field]), width: labelWidth) + "  " + formFields[field] + (editing ? "_" : ""),
                         x: 2, y: row, style: editing ? .title : .plain)
            row += 2
        }
        c.paragraph(t("party.rolesHelp"), row: row, style: .dim)
        c.item(t("party.save"), row: min(row + 3, c.height - 4), selected: selection == indices.count)
        drawInputMethod(&c)
        hint(&c, "party.hint")
    }

    func drawOpenings(_ c: inout Canvas) {
        guard let list = openings else { return }
        c.buffer.put(t("opening.title"), x: 2, y: 2, style: .title)
        if list.offline { c.buffer.put(TextLayout.truncate(t("opening.offline"), width: c.width - 4), x: 2, y: 3, style: .warning) }
        var row = 5
        for (index, opening) in list.openings.prefix(9).enumerated() {
            let confirmed = opening.parties.filter(\.confirmed).count
            let state = t("opening.stage." + opening.stage) + " \(confirmed)/\(opening.parties.count)"
            c.item(TextLayout.truncate("\(index + 1). \(opening.proposedName)  \(t("opening.applicant")) \(opening.applicantMaskedName)  \(state)",
                                       width: c.width - 8), row: row, selected: selection == index)
            row += 1
        }
        guard let shown = list.openings[safe: selection] else { hint(&c, "opening.hint"); return }
        row += 1
        c.buffer.put(t("opening.tracking") + ": " + shown.trackingNumber, x: 4, y: row); row += 1
        c.buffer.put(TextLayout.truncate("\(shown.type) · \(shown.registeredCapital)", width: c.width - 6), x: 4, y: row); row += 1
        c.buffer.put(t("opening.yourRole") + ": " + describe(roles: shown.roles, share: shown.shareBasisPoints), x: 4, y: row, style: .title); row += 1
        if let until = shown.confirmBy { c.buffer.put(t("opening.until") + ": " + until, x: 4, y: row); row += 1 }
        for party in shown.parties where row < c.height - 4 {
            let mark = party.confirmed ? t("opening.partyConfirmed") : t("opening.partyWaiting")
            c.buffer.put(TextLayout.truncate("  \(party.maskedName)  \(describe(roles: party.roles, share: party.shareBasisPoints))  \(mark)", width: c.width - 6),
                         x: 4, y: row, style: party.confirmed ? .plain : .warning)
            row += 1
        }
        if shown.confirmedByMe { c.centered(t("opening.already"), row: c.height - 4, style: .dim) }
        hint(&c, "opening.hint")
    }
}

extension Array {
    /// The element at `index`, or nil outside the array.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
