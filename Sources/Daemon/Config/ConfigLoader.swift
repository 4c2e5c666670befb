import Configuration
import Engine
import Foundation

/// Layers the configuration with swift-configuration: command-line flags over environment
/// variables (`CTD_…`) over the YAML file over the built-in defaults, then validates it.
/// A reload (SIGHUP) reads the same sources again and is applied only if the result is valid.
public struct ConfigLoader: Sendable {
    public let file: String?
    public let flags: [String: String]
    public let environment: [String: String]

    public init(file: String?, flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        (self.file, self.flags, self.environment) = (file, flags, environment)
    }

    public func load() async throws -> DaemonConfig {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "ctd"),
        ]
        if let file {
            guard FileManager.default.isReadableFile(atPath: file), let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError(problems: ["\(file): the config file does not exist or is not readable"])
            }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw ConfigError(problems: ["\(file): not UTF-8 text (save the file as UTF-8)"])
            }
            let problems = ConfigFileKeys.problems(in: text, file: file)
            guard problems.isEmpty else { throw ConfigError(problems: problems) }
            let location = ConfigReader(provider: InMemoryProvider(values: ["filePath": .init(.string(file), isSecret: false)]))
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(config: location))
            } catch {
                throw ConfigError(problems: ["\(file): not valid YAML: \(error)"])
            }
        }
        let reader = ConfigReader(providers: providers)
        return try DaemonConfig(lookup: { reader.string(forKey: ConfigKey($0)) })
    }

    /// A configuration file's text checked alone, as `load` checks it — unknown keys first, then
    /// every value — without reading a file, the environment or flags (the fuzzer's entry).
    public static func check(fileBytes bytes: [UInt8], file: String = "ctd.yaml", isa: InstructionSet = .effective) -> Result<DaemonConfig, ConfigError> {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ConfigError(problems: ["\(file): not UTF-8 text (save the file as UTF-8)"]))
        }
        let problems = ConfigFileKeys.problems(in: text, file: file)
        guard problems.isEmpty else { return .failure(ConfigError(problems: problems)) }
        let values = ConfigFileKeys.values(in: text) ?? [:]
        do { return .success(try DaemonConfig(lookup: { values[$0] }, isa: isa)) } catch { return .failure(error) }
    }

    /// Turns `--key value` pairs (the keys of `DaemonConfig.keys`, as `DaemonConfig.flag(for:)`
    /// spells them) into config keys; anything else is an error naming the flag.
    public static func parseFlags(_ arguments: [String]) throws(ConfigError) -> [String: String] {
        let byFlag = Dictionary(uniqueKeysWithValues: DaemonConfig.keys.map { (DaemonConfig.flag(for: $0), $0) })
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            var flag = arguments[index], value: String?
            if let equals = flag.firstIndex(of: "=") {
                value = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
            }
            guard let key = byFlag[flag] else {
                throw ConfigError(problems: ["unknown option \(flag) (settings are \(DaemonConfig.keys.map(DaemonConfig.flag(for:)).joined(separator: ", ")))"])
            }
            if value == nil {
                index += 1
                guard index < arguments.count else { throw ConfigError(problems: ["\(flag) needs a value"]) }
                value = arguments[index]
            }
            values[key] = value
            index += 1
        }
        return values
    }
}
