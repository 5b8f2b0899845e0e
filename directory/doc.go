// Package directory is the domain of Keystage: people and their accounts,
// groups, credentials, AUP documents and signatures, parental consents,
// suspensions, NAS clients and sync runs; the Store interface that keeps
// them; and the gate that decides whether an account may use a service now.
//
// It knows nothing of SQL, flags or protocols: storage lives behind Store
// (see directory/sqlstore), and frontends (LDAP, RADIUS, the portal) ask the
// gate rather than keeping rules of their own.
package directory
