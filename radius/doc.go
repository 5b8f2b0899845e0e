// Package radius is Keystage's RADIUS frontend: the authentication server
// (PAP, CHAP, MS-CHAPv2, and EAP handed to an EAPHandler), the accounting
// server, and the Disconnect-Request client of RFC 5176, on layeh.com/radius.
//
// It answers only the NAS clients stored in the directory, requires
// Message-Authenticator on every Access-Request and signs every reply with
// it first (CVE-2024-3596), and caches replies so that a retransmission is
// answered without a second authentication. Whether an account may use the
// Wi-Fi is the directory's gate's decision, never this package's; it must
// not touch SQL, read flags or environment, or log a secret.
package radius
