import ClusterupCore
import Foundation
import Mustache

/// The configuration and unit templates deploy renders. The defaults are compiled in (generated
/// from templates/); an inventory may name a directory whose `<name>.mustache` files replace them
/// one by one.
public struct TemplateSet: Sendable {
    private let library: MustacheLibrary
    /// Where each template came from, for messages: "built-in" or a file path.
    public let origins: [String: String]

    public init(overrides directory: String? = nil) throws {
        var sources = EmbeddedTemplates.all
        var origins = sources.mapValues { _ in "built-in" }
        if let directory {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            if names.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                throw ClusterupError.badInput(
                    "template directory \(directory) does not exist", hint: "fix `templates:` in the inventory")
            }
            for file in names where file.hasSuffix(".mustache") {
                let path = (directory as NSString).appendingPathComponent(file)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ClusterupError.badInput("cannot read template \(path)")
                }
                // Without it swift-mustache HTML-escapes every value (`&` -> `&amp;`), so a unit
                // or configuration would not say what the inventory does.
                guard text.split(separator: "\n", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) == "{{% CONTENT_TYPE: TEXT}}" else {
                    throw ClusterupError.badInput(
                        "template \(path) does not start with {{% CONTENT_TYPE: TEXT}}", at: path,
                        hint: "make {{% CONTENT_TYPE: TEXT}} its first line, as every built-in template has (otherwise values are HTML-escaped)")
                }
                let name = String(file.dropLast(".mustache".count))
                sources[name] = text
                origins[name] = path
            }
        }
        var library = MustacheLibrary()
        for (name, text) in sources {
            do {
                try library.register(text, named: name)
            } catch {
                throw ClusterupError.badInput("template \(origins[name] ?? name) does not parse: \(error)")
            }
        }
        self.library = library
        self.origins = origins
    }

    /// Renders a template with a dictionary context.
    public func render(_ name: String, _ context: [String: Any]) throws -> String {
        guard let text = library.render(context, withTemplate: name) else {
            throw ClusterupError.local("no template named \(name)", hint: "a template directory must keep the built-in names")
        }
        return text
    }
}
