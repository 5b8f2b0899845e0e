package radius_test

import (
	"context"
	"net/netip"
	"testing"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2868"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// benchSchoolNAS is BenchmarkAccessPAPCached through a school's NAS, with
// policies for that school and two others beside the trust's: what the
// choice of a school's policy adds to an Access-Request (nothing read from
// the store; a map look-up in memory).
func benchSchoolNAS(b *testing.B, src netip.AddrPort, want string) {
	ctx := context.Background()
	var ps policyList
	for i, s := range []string{"", "north", "south", "east"} {
		for j, g := range []string{"staff", "pupils", "guests"} {
			ps = append(ps, directory.NetworkPolicy{ID: int64(i*10 + j + 1), School: s, Group: g, VLAN: s + g, Precedence: (j + 1) * 10, Status: directory.NetworkApproved})
		}
	}
	np, err := radius.NewNetworkPolicies(ctx, ps, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := radiustest.New(b, radiustest.Options{Config: radius.Config{NetworkPolicies: np}, NoServe: true})
	srv.AddUser(b, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff"}})
	sealed, err := srv.Keyring.Seal([]byte(radiustest.Secret), []byte(directory.SealNAS))
	if err != nil {
		b.Fatal(err)
	}
	n := directory.NASClient{Name: "north-ap", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Secret: sealed, KeyID: srv.Keyring.CurrentID(), School: "north"}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: srv.Directory.Now(), Actor: "test", Action: audit.ActionNASAdd, Target: "nas:north-ap"})
	}); err != nil {
		b.Fatal(err)
	}
	if err := srv.Radius.ReloadClients(ctx); err != nil {
		b.Fatal(err)
	}
	reqs := make([][]byte, 512)
	for i := range reqs {
		reqs[i] = papRequest(b)
	}
	first := srv.Radius.HandlePacket(ctx, netip.AddrPortFrom(src.Addr(), 1), reqs[0], true)
	p, err := layeh.Parse(first, []byte(radiustest.Secret))
	if err != nil || p.Code != layeh.CodeAccessAccept {
		b.Fatalf("not accepted: %v", err)
	}
	if _, vlan, _ := rfc2868.TunnelPrivateGroupID_LookupString(p); vlan != want {
		b.Fatalf("vlan %q, want %q", vlan, want)
	}
	i := 0
	for b.Loop() {
		s := netip.AddrPortFrom(src.Addr(), uint16(1024+i/len(reqs)))
		reply := srv.Radius.HandlePacket(ctx, s, reqs[i%len(reqs)], true)
		if reply == nil || layeh.Code(reply[0]) != layeh.CodeAccessAccept {
			b.Fatalf("request %d not accepted", i)
		}
		i++
	}
}

func BenchmarkAccessPAPCachedTrustNAS(b *testing.B) {
	benchSchoolNAS(b, netip.MustParseAddrPort("127.0.0.1:40000"), "staff")
}

func BenchmarkAccessPAPCachedSchoolNAS(b *testing.B) {
	benchSchoolNAS(b, netip.MustParseAddrPort("127.0.0.2:40000"), "northstaff")
}
