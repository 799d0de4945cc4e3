// Renews the MDM push certificate of a deployment with MdmKit, as a vendor's tool would.
//
//   RenewPushCertificate                         dashboard; writes push.csr when one is due
//   RenewPushCertificate CERT.pem APPLE_ID [NOTE]  installs Apple's certificate
//
// MDMKIT_STORE names the store (an SQLite file) and MDMKIT_KEY its at-rest key (64 hex
// digits). Renew with the same Apple ID as the first install: Apple keeps the topic, and
// devices stay enrolled. A certificate of another topic is refused (topic_mismatch).
import Foundation
import MdmKit

@main
struct RenewPushCertificate {
    static func main() async {
        let environment = ProcessInfo.processInfo.environment
        guard let store = environment["MDMKIT_STORE"], let key = environment["MDMKIT_KEY"] else {
            print("set MDMKIT_STORE and MDMKIT_KEY")
            exit(2)
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            let mdm = try await Mdm.open(storeUrl: store, keyHex: key, settings: [:])
            if arguments.count >= 2 {
                try await install(mdm.pushCerts(), file: arguments[0], appleId: arguments[1],
                                  note: arguments.count > 2 ? arguments[2] : nil)
            } else {
                try await dashboard(mdm.pushCerts())
            }
        } catch MdmError.Failed(let code, let message) {
            switch code {
            case "topic_mismatch":
                print("This certificate is for another topic: renew the existing one at Apple's portal, with its Apple ID.")
            case "key_mismatch":
                print("This certificate is not for the key of the last request: upload the newest push.csr.")
            case "certificate_expired":
                print("Apple's file has already expired: renew again.")
            default:
                print("refused (\(code)): \(message)")
            }
            exit(1)
        } catch {
            print("failed: \(error)")
            exit(1)
        }
    }

    /// Every certificate with days remaining; a CSR for Apple when one is due (60 days).
    static func dashboard(_ certs: PushCerts) async throws {
        let installed = try await certs.status()
        if installed.isEmpty {
            print("no push certificate installed")
        }
        for cert in installed {
            let flag = cert.status == .expiringSoon ? "renew now" : (cert.status == .expired ? "EXPIRED" : "ok")
            print("\(cert.topic): \(cert.daysRemaining) days left (\(flag)), Apple ID \(cert.appleId ?? "unknown"), note \(cert.note ?? "-")")
        }
        guard installed.isEmpty || installed.contains(where: { $0.renewNow }) else {
            return
        }
        let csr = try await certs.createRequest(email: "it@example.com", commonName: "Example Corp MDM")
        try csr.write(toFile: "push.csr", atomically: true, encoding: .utf8)
        print("wrote push.csr: have it signed by your MDM vendor, upload it at https://identity.apple.com")
    }

    /// Installs Apple's certificate with the Apple ID used and a note, then shows the history.
    static func install(_ certs: PushCerts, file: String, appleId: String, note: String?) async throws {
        let certificate = try Data(contentsOf: URL(fileURLWithPath: file))
        let info = try inspectPushCertificate(data: certificate, password: nil)
        print("\(info.topic): valid until \(info.notAfter), \(info.daysRemaining) days")
        let report = try await certs.install(certificate: certificate, password: nil, appleId: appleId,
                                             note: note, keyPem: nil)
        print(report.renewed ? "renewed \(report.topic)" : "installed \(report.topic)")
        for failure in report.notSynchronised {
            print("not pushed: \(failure.enrollmentId): \(failure.reason)")
        }
        for entry in try await certs.history(topic: report.topic) {
            print("\(entry.at) \(entry.action) serial \(entry.serial ?? "-") by \(entry.appleId ?? "-")")
        }
    }
}
