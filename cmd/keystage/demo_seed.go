package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
)

// The demo people named in the hints, picked by MIS id so they are the same
// in every seeding: the first teacher and the first pupil of year 7.
const (
	demoTeacherMIS = "S000001"
	demoPupilMIS   = "P0000001"
	// Staff who hold portal roles through the groups named in the default
	// [portal] configuration.
	demoTechnicianMIS   = "S000002"
	demoSafeguardingMIS = "S000003"
	demoAuditorMIS      = "S000004"
)

// demoRoleGroups are the portal's role groups and their demo members.
var demoRoleGroups = []struct{ group, mis string }{
	{"portal-technicians", demoTechnicianMIS},
	{"portal-safeguarding", demoSafeguardingMIS},
	{"portal-auditors", demoAuditorMIS},
}

// demoAUPs are the documents the demo publishes.
var demoAUPs = []struct{ audience, text string }{
	{"staff", "# Staff Acceptable Use Policy\n\nI will use the school's systems for school work, keep my password secret, and report any safeguarding concern to the DSL."},
	{"pupil", "# Pupil Acceptable Use Policy\n\nI will be kind online. I will keep my password secret. I will tell a trusted adult if I see something that upsets me."},
	{"pupil-ks2", "# Pupil AUP (Key Stage 2)\n\nI will only use the computers when an adult says I can. I will be kind. I will tell an adult if something worries me."},
	{"pupil-ks1", "# Pupil AUP (Key Stage 1)\n\nI ask before I use a computer. I am kind. I tell a grown-up if I see something I do not like."},
	{"community", "# Community Acceptable Use Policy\n\nVisitors use the guest Wi-Fi for the purpose of their visit and follow the school's rules."},
	{"parent-permission", "# Parental permission\n\nI give permission for my child to use the school's network and internet, filtered and monitored."},
}

// seedDemo stores the demo school: people and groups, passwords and Wi-Fi
// credentials, the AUPs with most people signed (a few not, to show the
// gate), one NAS client for radtest and eapol_test on loopback.
func seedDemo(e *env, d *directory.Directory) error {
	ctx := e.ctx
	h := e.hasher()
	staffHash, err := h.Hash(demoStaffPassword)
	if err != nil {
		return err
	}
	pupilHash, err := h.Hash(demoPupilPassword)
	if err != nil {
		return err
	}
	policies := passwords.DefaultPolicies()
	people := schoolgen.People(schoolgen.Demo())
	accounts, err := schoolgen.Seed(ctx, d.Store(), people, schoolgen.SeedOptions{
		Actor: "demo",
		PasswordHash: func(p schoolgen.Person) string {
			if p.Staff {
				return staffHash
			}
			return pupilHash
		},
		WiFi: func(p schoolgen.Person) (string, string, error) {
			pol := policies["pupil-ks2"]
			if p.Staff {
				pol = policies["staff"]
			}
			cred, err := passwords.GenerateWiFi(pol)
			if err != nil {
				return "", "", err
			}
			sealed, err := d.Sealer().Seal([]byte(cred), []byte(directory.SealWiFi))
			return sealed, d.Sealer().CurrentID(), err
		},
	})
	if err != nil {
		return err
	}
	if err := seedDemoLDAPService(ctx, d, h); err != nil {
		return err
	}
	published := time.Date(2026, 8, 20, 9, 0, 0, 0, time.UTC)
	signed := time.Date(2026, 9, 3, 8, 30, 0, 0, time.UTC)
	return d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		docs := map[string]directory.AUPDocument{}
		for _, a := range demoAUPs {
			sum := sha256.Sum256([]byte(a.text))
			doc := directory.AUPDocument{Audience: a.audience, Version: "2026.1", Text: a.text, Digest: hex.EncodeToString(sum[:]), PublishedAt: published}
			if err := tx.AddAUPDocument(ctx, &doc); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, "demo", audit.ActionAUPPublish, audit.Target(audit.KindAUP, a.audience+"/2026.1"), nil, map[string]string{"digest": doc.Digest}); err != nil {
				return err
			}
			docs[a.audience] = doc
		}
		for i, a := range accounts {
			// Every 25th pupil has not signed yet, every 40th has no parental
			// consent: the gate refuses them, and the portal asks them to sign.
			aud := directory.DefaultAudiences(a)
			if a.Role == directory.RolePupil && i%25 == 7 {
				continue
			}
			for _, au := range aud {
				doc := docs[au]
				if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: doc.ID, Digest: doc.Digest,
					SignedAt: signed, Method: directory.SignPaper, FormDate: signed, Witness: "Form tutor", RecordedBy: "demo"}); err != nil {
					return err
				}
				// One event per signature, as keystage aup record makes it:
				// recorded now, with the paper form's date in it. An event
				// dated in the past but stored after today's would put the
				// trail out of time order, and the hint's
				// "audit export --since TODAY" would miss it.
				if err := d.Record(ctx, tx, "demo", audit.ActionAUPSign, audit.AccountTarget(a.Username), nil, map[string]any{
					"document_id": doc.ID, "audience": doc.Audience, "version": doc.Version,
					"digest": doc.Digest, "method": directory.SignPaper, "form_date": directory.FormatDate(signed), "witness": "Form tutor"}); err != nil {
					return err
				}
			}
			if a.Role == directory.RolePupil && i%40 != 11 {
				if err := tx.AddConsent(ctx, &directory.Consent{AccountID: a.ID, DocumentID: docs["parent-permission"].ID,
					ParentName: "Parent of " + a.GivenName, Relationship: "parent", GivenAt: signed, Method: directory.SignPaper, RecordedBy: "demo"}); err != nil {
					return err
				}
				if err := d.Record(ctx, tx, "demo", audit.ActionConsentAdd, audit.AccountTarget(a.Username), nil, map[string]any{
					"parent_name": "Parent of " + a.GivenName, "relationship": "parent", "given_at": signed, "method": directory.SignPaper}); err != nil {
					return err
				}
			}
		}
		if err := d.Record(ctx, tx, "demo", audit.ActionAUPRecordBulk, "school", nil, map[string]int{"accounts": len(accounts)}); err != nil {
			return err
		}
		for _, rg := range demoRoleGroups {
			g := directory.Group{Name: rg.group, Kind: directory.GroupCustom, Source: directory.SourceManual, Description: "Portal role"}
			if err := tx.CreateGroup(ctx, &g); err != nil {
				return err
			}
			a, err := tx.AccountByMISID(ctx, rg.mis)
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, "demo", audit.ActionGroupCreate, audit.Target(audit.KindGroup, g.Name), nil, map[string]any{"name": g.Name, "members": []string{a.Username}}); err != nil {
				return err
			}
		}
		secret, err := d.Sealer().Seal([]byte(demoNASSecret), []byte(directory.SealNAS))
		if err != nil {
			return err
		}
		nas := directory.NASClient{Name: "demo-loopback", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
			Secret: secret, KeyID: d.Sealer().CurrentID(), Vendor: "generic"}
		if err := tx.PutNASClient(ctx, &nas); err != nil {
			return err
		}
		return d.Record(ctx, tx, "demo", audit.ActionNASAdd, audit.Target(audit.KindNAS, nas.Name), nil, map[string]string{"addresses": directory.FormatPrefixes(nas.Addresses)})
	})
}

// demoNames finds the usernames of the demo people named in the hints.
func demoNames(ctx context.Context, s directory.Reader) (teacher, pupil string) {
	teacher, pupil = "(see account list)", "(see account list)"
	if a, err := s.AccountByMISID(ctx, demoTeacherMIS); err == nil {
		teacher = a.Username
	}
	if a, err := s.AccountByMISID(ctx, demoPupilMIS); err == nil {
		pupil = a.Username
	}
	return teacher, pupil
}
