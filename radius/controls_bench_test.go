package radius_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// benchDevice is benchAccess for a pupil whose audience needs an approval
// for a personal device, with a limit of devices per person: the rules for
// personal devices on (an approval in force, the device already known).
// With rules off it is the same request (a Calling-Station-Id, which the
// lockout weighs) without them.
func benchDevice(b *testing.B, ttl time.Duration, rules bool) {
	cfg := radius.Config{Policies: []radius.Policy{{Group: "pupils", VLAN: "20"}}, FactsTTL: ttl}
	controls := directory.Controls{DeviceApprovers: []string{"head"}}
	if rules {
		controls.Devices = directory.DevicePolicy{Rules: map[directory.Role]directory.DeviceRule{directory.RolePupil: directory.DeviceApproval}, MaxPerPerson: 3}
	}
	srv := radiustest.New(b, radiustest.Options{Config: cfg, Controls: controls, NoServe: true})
	head := srv.AddUser(b, radiustest.User{Username: "h.teacher", Groups: []string{"head"}})
	pupil := srv.AddUser(b, radiustest.User{Username: "p.one", Role: directory.RolePupil, WiFi: "pupil-wifi-cred-1", Groups: []string{"pupils"}})
	ctx := context.Background()
	if _, err := srv.Directory.Approve(ctx, "bench", head, pupil, directory.Approval{Kind: directory.ApprovalDevice, Device: "02-00-00-00-00-07",
		Reason: "bench", Until: time.Now().AddDate(1, 0, 0)}); err != nil {
		b.Fatal(err)
	}
	reqs := make([][]byte, 512)
	for i := range reqs {
		reqs[i] = accessRequest(b, radiustest.Secret, func(p *layeh.Packet) {
			pap("p.one", "pupil-wifi-cred-1")(p)
			rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-07")
		})
	}
	i := 0
	for b.Loop() {
		src := netip.AddrPortFrom(nas.Addr(), uint16(1024+i/len(reqs)))
		reply := srv.Radius.HandlePacket(ctx, src, reqs[i%len(reqs)], true)
		if reply == nil || layeh.Code(reply[0]) != layeh.CodeAccessAccept {
			b.Fatalf("request %d not accepted", i)
		}
		i++
	}
}

// Cached and uncached, with the rules for personal devices on and off:
// compare to see what they cost.
func BenchmarkAccessPAPDeviceRulesCached(b *testing.B)     { benchDevice(b, 0, true) }
func BenchmarkAccessPAPDeviceRulesUncached(b *testing.B)   { benchDevice(b, -1, true) }
func BenchmarkAccessPAPDeviceNoRulesCached(b *testing.B)   { benchDevice(b, 0, false) }
func BenchmarkAccessPAPDeviceNoRulesUncached(b *testing.B) { benchDevice(b, -1, false) }
