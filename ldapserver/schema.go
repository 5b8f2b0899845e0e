package ldapserver

// schemaAttribute is an attribute type published in the subschema entry,
// with its definition from the RFC that owns it (RFC 4512, 4519, 4524,
// 2798, 2307, 4530, 3045) so that clients that read the schema (Apache
// Directory Studio, python-ldap, SSSD's schema checks) see what they know.
type schemaAttribute struct {
	names []string
	def   string
}

var schemaAttributes = []schemaAttribute{
	{[]string{"objectClass"}, "( 2.5.4.0 NAME 'objectClass' EQUALITY objectIdentifierMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )"},
	{[]string{"name"}, "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"},
	{[]string{"cn", "commonName"}, "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )"},
	{[]string{"sn", "surname"}, "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )"},
	{[]string{"givenName", "gn"}, "( 2.5.4.42 NAME ( 'givenName' 'gn' ) SUP name )"},
	{[]string{"ou", "organizationalUnitName"}, "( 2.5.4.11 NAME ( 'ou' 'organizationalUnitName' ) SUP name )"},
	{[]string{"o", "organizationName"}, "( 2.5.4.10 NAME ( 'o' 'organizationName' ) SUP name )"},
	{[]string{"description"}, "( 2.5.4.13 NAME 'description' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"},
	{[]string{"member"}, "( 2.5.4.31 NAME 'member' SUP distinguishedName )"},
	{[]string{"distinguishedName"}, "( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )"},
	{[]string{"dc", "domainComponent"}, "( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )"},
	{[]string{"uid", "userid"}, "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )"},
	{[]string{"mail", "rfc822Mailbox"}, "( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )"},
	{[]string{"displayName"}, "( 2.16.840.1.113730.3.1.241 NAME 'displayName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )"},
	{[]string{"employeeType"}, "( 2.16.840.1.113730.3.1.4 NAME 'employeeType' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"},
	{[]string{"uidNumber"}, "( 1.3.6.1.1.1.1.0 NAME 'uidNumber' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"gidNumber"}, "( 1.3.6.1.1.1.1.1 NAME 'gidNumber' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"gecos"}, "( 1.3.6.1.1.1.1.2 NAME 'gecos' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )"},
	{[]string{"homeDirectory"}, "( 1.3.6.1.1.1.1.3 NAME 'homeDirectory' EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )"},
	{[]string{"loginShell"}, "( 1.3.6.1.1.1.1.4 NAME 'loginShell' EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )"},
	{[]string{"shadowLastChange"}, "( 1.3.6.1.1.1.1.5 NAME 'shadowLastChange' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"shadowMin"}, "( 1.3.6.1.1.1.1.6 NAME 'shadowMin' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"shadowMax"}, "( 1.3.6.1.1.1.1.7 NAME 'shadowMax' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"shadowWarning"}, "( 1.3.6.1.1.1.1.8 NAME 'shadowWarning' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"shadowInactive"}, "( 1.3.6.1.1.1.1.9 NAME 'shadowInactive' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"shadowExpire"}, "( 1.3.6.1.1.1.1.10 NAME 'shadowExpire' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"},
	{[]string{"memberUid"}, "( 1.3.6.1.1.1.1.12 NAME 'memberUid' EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )"},
	{[]string{"memberOf"}, "( 1.2.840.113556.1.2.102 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )"},
	{[]string{"entryUUID"}, "( 1.3.6.1.1.16.4 NAME 'entryUUID' EQUALITY UUIDMatch ORDERING UUIDOrderingMatch SYNTAX 1.3.6.1.1.16.1 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"},
	{[]string{"entryDN"}, "( 1.3.6.1.1.20 NAME 'entryDN' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"},
	{[]string{"createTimestamp"}, "( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"},
	{[]string{"modifyTimestamp"}, "( 2.5.18.2 NAME 'modifyTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"},
	{[]string{"subschemaSubentry"}, "( 2.5.18.10 NAME 'subschemaSubentry' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"},
	{[]string{"namingContexts"}, "( 1.3.6.1.4.1.1466.101.120.5 NAME 'namingContexts' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 USAGE dSAOperation )"},
	{[]string{"supportedControl"}, "( 1.3.6.1.4.1.1466.101.120.13 NAME 'supportedControl' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 USAGE dSAOperation )"},
	{[]string{"supportedExtension"}, "( 1.3.6.1.4.1.1466.101.120.7 NAME 'supportedExtension' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 USAGE dSAOperation )"},
	{[]string{"supportedLDAPVersion"}, "( 1.3.6.1.4.1.1466.101.120.15 NAME 'supportedLDAPVersion' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 USAGE dSAOperation )"},
	{[]string{"supportedSASLMechanisms"}, "( 1.3.6.1.4.1.1466.101.120.14 NAME 'supportedSASLMechanisms' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 USAGE dSAOperation )"},
	{[]string{"vendorName"}, "( 1.3.6.1.1.4 NAME 'vendorName' EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )"},
	{[]string{"attributeTypes"}, "( 2.5.21.5 NAME 'attributeTypes' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.3 USAGE directoryOperation )"},
	{[]string{"objectClasses"}, "( 2.5.21.6 NAME 'objectClasses' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.37 USAGE directoryOperation )"},
	{[]string{"matchingRules"}, "( 2.5.21.4 NAME 'matchingRules' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.30 USAGE directoryOperation )"},
	{[]string{"ldapSyntaxes"}, "( 1.3.6.1.4.1.1466.101.120.16 NAME 'ldapSyntaxes' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.54 USAGE directoryOperation )"},
}

// schemaSyntaxes are the LDAP syntaxes that the attribute types and
// matching rules above use (RFC 4517, RFC 4530 for the UUID), so that a
// client that checks the schema finds every syntax it is pointed to.
var schemaSyntaxes = []string{
	"( 1.3.6.1.4.1.1466.115.121.1.3 DESC 'Attribute Type Description' )",
	"( 1.3.6.1.4.1.1466.115.121.1.12 DESC 'DN' )",
	"( 1.3.6.1.4.1.1466.115.121.1.15 DESC 'Directory String' )",
	"( 1.3.6.1.4.1.1466.115.121.1.24 DESC 'Generalized Time' )",
	"( 1.3.6.1.4.1.1466.115.121.1.26 DESC 'IA5 String' )",
	"( 1.3.6.1.4.1.1466.115.121.1.27 DESC 'INTEGER' )",
	"( 1.3.6.1.4.1.1466.115.121.1.30 DESC 'Matching Rule Description' )",
	"( 1.3.6.1.4.1.1466.115.121.1.37 DESC 'Object Class Description' )",
	"( 1.3.6.1.4.1.1466.115.121.1.38 DESC 'OID' )",
	"( 1.3.6.1.4.1.1466.115.121.1.54 DESC 'LDAP Syntax Description' )",
	"( 1.3.6.1.4.1.1466.115.121.1.58 DESC 'Substring Assertion' )",
	"( 1.3.6.1.1.16.1 DESC 'UUID' )",
}

// schemaMatchingRules are the matching rules that the attribute types
// above name (RFC 4517, RFC 4530, and OpenLDAP's caseIgnoreIA5SubstringsMatch).
var schemaMatchingRules = []string{
	"( 2.5.13.0 NAME 'objectIdentifierMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )",
	"( 2.5.13.1 NAME 'distinguishedNameMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
	"( 2.5.13.2 NAME 'caseIgnoreMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
	"( 2.5.13.4 NAME 'caseIgnoreSubstringsMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.58 )",
	"( 2.5.13.5 NAME 'caseExactMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
	"( 2.5.13.7 NAME 'caseExactSubstringsMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.58 )",
	"( 2.5.13.14 NAME 'integerMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )",
	"( 2.5.13.15 NAME 'integerOrderingMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )",
	"( 2.5.13.27 NAME 'generalizedTimeMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 )",
	"( 2.5.13.28 NAME 'generalizedTimeOrderingMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 )",
	"( 2.5.13.30 NAME 'objectIdentifierFirstComponentMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )",
	"( 1.3.6.1.4.1.1466.109.114.1 NAME 'caseExactIA5Match' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )",
	"( 1.3.6.1.4.1.1466.109.114.2 NAME 'caseIgnoreIA5Match' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )",
	"( 1.3.6.1.4.1.4203.1.2.1 NAME 'caseIgnoreIA5SubstringsMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.58 )",
	"( 1.3.6.1.1.16.2 NAME 'UUIDMatch' SYNTAX 1.3.6.1.1.16.1 )",
	"( 1.3.6.1.1.16.3 NAME 'UUIDOrderingMatch' SYNTAX 1.3.6.1.1.16.1 )",
}

// schemaObjectClasses are the object classes of the entries served.
var schemaObjectClasses = []string{
	"( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
	"( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )",
	"( 2.5.6.4 NAME 'organization' SUP top STRUCTURAL MUST o MAY description )",
	"( 2.5.6.5 NAME 'organizationalUnit' SUP top STRUCTURAL MUST ou MAY description )",
	"( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY description )",
	"( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY ou )",
	"( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL MAY ( displayName $ employeeType $ givenName $ mail $ uid ) )",
	"( 1.3.6.1.1.1.2.0 NAME 'posixAccount' SUP top AUXILIARY MUST ( cn $ uid $ uidNumber $ gidNumber $ homeDirectory ) MAY ( gecos $ loginShell $ description ) )",
	"( 1.3.6.1.1.1.2.1 NAME 'shadowAccount' SUP top AUXILIARY MUST uid MAY ( shadowLastChange $ shadowMin $ shadowMax $ shadowWarning $ shadowInactive $ shadowExpire $ description ) )",
	"( 1.3.6.1.1.1.2.2 NAME 'posixGroup' SUP top AUXILIARY MUST ( cn $ gidNumber ) MAY ( memberUid $ description ) )",
	"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST cn MAY ( member $ description ) )",
	"( 0.9.2342.19200300.100.4.5 NAME 'account' SUP top STRUCTURAL MUST uid MAY ( description $ ou ) )",
	"( 2.5.17.0 NAME 'subentry' SUP top STRUCTURAL MUST cn )",
	"( 2.5.20.1 NAME 'subschema' AUXILIARY MAY ( objectClasses $ attributeTypes $ matchingRules ) )",
	// ldapSyntaxes is not in subschema's MAY (RFC 4512 4.2.1): the
	// subschema entry is an extensibleObject to hold it, as OpenLDAP's is.
	"( 1.3.6.1.4.1.1466.101.120.111 NAME 'extensibleObject' SUP top AUXILIARY )",
}

// subschemaEntry is the entry named by subschemaSubentry. Anyone may read
// it, before binding too, as OpenLDAP allows by default: clients read it
// to learn the syntaxes and matching rules before they search, and it
// says nothing about the people in the directory.
func subschemaEntry() *entry {
	e := &entry{dn: subschemaDN}
	e.add("objectClass", false, "top", "subentry", "subschema", "extensibleObject")
	e.add("cn", false, "Subschema")
	defs := make([]string, len(schemaAttributes))
	for i, a := range schemaAttributes {
		defs[i] = a.def
	}
	e.add("attributeTypes", true, defs...)
	e.add("objectClasses", true, schemaObjectClasses...)
	e.add("matchingRules", true, schemaMatchingRules...)
	e.add("ldapSyntaxes", true, schemaSyntaxes...)
	e.add("entryDN", true, subschemaDN)
	e.add("subschemaSubentry", true, subschemaDN)
	return e
}

// rootDSE is the entry with the empty DN that clients read before binding.
// Its attributes are returned for "*" too, as Active Directory does,
// because several clients ask for "*" and expect namingContexts.
func (s *Server) rootDSE() *entry {
	e := &entry{}
	e.add("objectClass", false, "top")
	e.add("namingContexts", false, s.tree.base)
	e.add("supportedLDAPVersion", false, "3")
	ext := []string{oidWhoAmI, oidPasswordModify}
	if s.cfg.TLS != nil {
		ext = append(ext, oidStartTLS)
	}
	e.add("supportedExtension", false, ext...)
	e.add("supportedControl", false, oidPagedResults, oidPasswordPolicy)
	e.add("subschemaSubentry", false, subschemaDN)
	e.add("vendorName", false, "Keystage")
	return e
}
