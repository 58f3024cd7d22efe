import ArgumentParser
import ExporterApp
import Foundation

/// Runs a made exporter until SIGINT or SIGTERM, for `serve` and `replay --serve`: starts it (a failure
/// to start is logged and exits 1), logs `listening` with `mode` (demo or replay), reloads on SIGHUP,
/// and stops on the first SIGINT/SIGTERM; a second one exits at once without waiting for the shutdown.
/// The caller has called `SignalWaiter.install` before making any thread.
enum Serving {
    static func run(_ exporter: Exporter, address: String, mode: (key: String, value: String)) throws {
        do {
            try exporter.start()
        } catch {
            Log.error("could not start", ["err": "\(error)"])
            exporter.stop()
            throw ExitCode.failure
        }
        Log.info("listening", ["address": address, "port": "\(exporter.port)", mode.key: mode.value, "version": BuildInfo.version])
        while true {
            let signal = SignalWaiter.next()
            if signal == SIGHUP {
                exporter.reload()
                continue
            }
            Log.info("shutting down", ["signal": signal == SIGINT ? "SIGINT" : "SIGTERM"])
            break
        }
        // The stop (at most --alerting.shutdown-grace for deliveries in flight) runs beside the signal wait, so a
        // second SIGINT or SIGTERM exits at once; its end wakes the wait.
        let stopper = Thread {
            exporter.stop()
            SignalWaiter.wake()
        }
        stopper.start()
        while true {
            let signal = SignalWaiter.next()
            if signal == SignalWaiter.wakeUp { return }
            if signal == SIGHUP { continue }
            Log.warn("second signal: exiting without waiting for the shutdown", ["signal": signal == SIGINT ? "SIGINT" : "SIGTERM"])
            fflush(nil)
            _exit(1)
        }
    }
}
