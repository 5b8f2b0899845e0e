package directory_test

import (
	"context"
	"slices"
	"testing"

	"keystage.dev/keystage/directory"
)

// toldStore is a Store whose Watch replays fixed notifications.
type toldStore struct {
	directory.Store
	told [][]string
}

func (s toldStore) Watch(ctx context.Context, fn func([]string)) error {
	for _, t := range s.told {
		fn(t)
	}
	return nil
}

func TestWatchAccounts(t *testing.T) {
	type call struct {
		names []string
		all   bool
	}
	cases := []struct {
		name string
		told [][]string
		want []call
	}{
		{"accounts", [][]string{{"account:jsmith", "group:7a", "account:apupil"}}, []call{{[]string{"jsmith", "apupil"}, false}}},
		{"no account named", [][]string{{"group:7a", "nas:ap-1"}}, nil},
		{"missed changes", [][]string{{"*"}}, []call{{nil, true}}},
		{"one call per commit", [][]string{{"account:a"}, {"account:b"}}, []call{{[]string{"a"}, false}, {[]string{"b"}, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []call
			ok, err := directory.WatchAccounts(context.Background(), toldStore{told: c.told}, func(names []string, all bool) {
				got = append(got, call{names, all})
			})
			if !ok || err != nil {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			if !slices.EqualFunc(got, c.want, func(a, b call) bool { return a.all == b.all && slices.Equal(a.names, b.names) }) {
				t.Errorf("told %v, want %v", got, c.want)
			}
		})
	}
	// A store that cannot tell is reported, not an error.
	type plain struct{ directory.Store }
	if ok, err := directory.WatchAccounts(context.Background(), plain{}, func([]string, bool) { t.Error("called") }); ok || err != nil {
		t.Errorf("a store without Watch: ok %v, err %v", ok, err)
	}
}
