/// ctd's release: the one version ctd, ctctl, the daemon, run.json and exports report.
public enum Release {
    public static let version = "0.3.0"
}
