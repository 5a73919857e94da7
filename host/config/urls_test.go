package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitURLs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"http://a:1", []string{"http://a:1"}},
		{"http://a:1,http://b:2", []string{"http://a:1", "http://b:2"}},
		{" http://a:1 , ,http://b:2,", []string{"http://a:1", "http://b:2"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, SplitURLs(tt.in), tt.in)
	}
}

func TestParseURLs(t *testing.T) {
	tests := []struct {
		name, in  string
		client    bool     // ParseClientURLs, else ParseURLs
		wantHosts []string // host and path of each URL
		wantErr   string
	}{
		{name: "http and https", in: "http://a:1, https://b:2", wantHosts: []string{"a:1", "b:2"}},
		{name: "empty", in: " , ", wantErr: "no URL given"},
		{name: "no port", in: "http://a", wantErr: `URL "http://a": a port is required`},
		{name: "peer scheme", in: "ftp://a:1", wantErr: `URL "ftp://a:1": scheme "ftp" is not supported (use http or https)`},
		{name: "client scheme", in: "ftp://a:1", client: true, wantErr: `scheme "ftp" is not supported (use http, https, unix or unixs)`},
		{name: "unix socket", in: "unix://localhost:2379,unixs:///tmp/s.sock", client: true, wantHosts: []string{"localhost:2379", "/tmp/s.sock"}},
		{name: "unix peer", in: "unix://localhost:2379", wantErr: `scheme "unix" is not supported (use http or https)`},
		{name: "unix without a path", in: "unix://", client: true, wantErr: `URL "unix://": a unix socket path is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := ParseURLs
			if tt.client {
				parse = ParseClientURLs
			}
			urls, err := parse(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var hosts []string
			for _, u := range urls {
				hosts = append(hosts, u.Host+u.Path)
			}
			require.Equal(t, tt.wantHosts, hosts)
		})
	}
}

func TestHasTLSURL(t *testing.T) {
	require.False(t, hasTLSURL("http://a:1,unix://s"))
	require.True(t, hasTLSURL("http://a:1, https://b:2"))
	require.True(t, hasTLSURL("unixs://s"))
}
