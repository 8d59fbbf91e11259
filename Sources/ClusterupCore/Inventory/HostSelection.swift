import Foundation

extension Inventory {
    /// The hosts a command runs on: those named in `names` (all when nil) that carry at least one of
    /// `roles` (any when nil), in inventory order. Unknown names and empty results are errors.
    public func select(names: [String]? = nil, roles: [Role]? = nil) throws(ClusterupError) -> [InventoryHost] {
        var selected = hosts
        if let names {
            let known = hosts.map(\.name)
            for name in names where host(named: name) == nil {
                throw .badInput(
                    "no host named '\(name)' in \(path)", at: "--hosts",
                    hint: suggestion(for: name, among: known, listing: "hosts"))
            }
            selected = selected.filter { names.contains($0.name) }
        }
        if let roles {
            selected = selected.filter { !$0.roles.isDisjoint(with: roles) }
        }
        guard !selected.isEmpty else {
            var filters: [String] = []
            if let names { filters.append("--hosts \(names.joined(separator: ","))") }
            if let roles { filters.append("--roles \(roles.map(\.rawValue).joined(separator: ","))") }
            throw .badInput(
                "no host matches \(filters.joined(separator: " and "))",
                hint: "`clusterup inventory check` lists the hosts and their roles")
        }
        return selected
    }
}

extension Inventory {
    /// `select` from command-line values as typed: each `--hosts`/`--roles` value may hold a
    /// comma-separated list, and the option may be repeated. No values means no filter.
    public func select(hostArguments: [String], roleArguments: [String]) throws(ClusterupError) -> [InventoryHost] {
        var roles: [Role]?
        if let names = splitCommaList(roleArguments) {
            roles = []
            for name in names { roles?.append(try Role.parse(name)) }
        }
        return try select(names: splitCommaList(hostArguments), roles: roles)
    }
}

/// "a,b" "c" -> ["a", "b", "c"]; nil when nothing is left.
func splitCommaList(_ values: [String]) -> [String]? {
    let items = values.flatMap { $0.split(separator: ",") }
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    return items.isEmpty ? nil : items
}

extension Role {
    /// Parses a role name as typed on the command line, with a suggestion when it is misspelt.
    public static func parse(_ text: String) throws(ClusterupError) -> Role {
        guard let role = Role(rawValue: text) else {
            throw .badInput("unknown role '\(text)'", at: "--roles", hint: suggestion(for: text, among: names, listing: "roles"))
        }
        return role
    }
}
