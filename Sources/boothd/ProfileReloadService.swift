import BoothCore
import BoothProfiles
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the firmware profiles on SIGHUP (`systemctl reload boothd`). A reload with errors keeps the profiles
/// in force and logs every problem with its file:line, so a typo in a site override never leaves a booth blind.
struct ProfileReloadService: Service {
    let library: ProfileLibrary
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                do throws(ProfileLoadErrors) {
                    let summary = try library.reload()
                    logger.notice(
                        "firmware profiles reloaded",
                        metadata: ["profiles": "\(library.current.profiles.count)", "changes": "\(summary)"]
                    )
                } catch {
                    for problem in error.errors {
                        logger.error(
                            "profile reload refused; keeping the current profiles",
                            metadata: ["problem": "\(problem)"]
                        )
                    }
                }
            }
        }
    }
}
