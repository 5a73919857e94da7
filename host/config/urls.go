package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The URL flags (--listen-client-urls, --initial-advertise-peer-urls, ...)
// take comma-separated lists. Every part of the member reads such a list
// through SplitURLs, ParseURLs or ParseClientURLs, so that all agree on
// what it holds: each entry trimmed, empty entries dropped.

// SplitURLs returns the entries of a comma-separated URL list as written,
// trimmed, without the empty ones. It does not validate them: Load has
// parsed every list of a Config with ParseURLs or ParseClientURLs.
func SplitURLs(s string) []string {
	var out []string
	for _, raw := range strings.Split(s, ",") {
		if raw = strings.TrimSpace(raw); raw != "" {
			out = append(out, raw)
		}
	}
	return out
}

// ParseURLs parses a comma-separated list of peer or metrics URLs: http
// and https URLs, each with a host and a port.
func ParseURLs(s string) ([]url.URL, error) { return parseURLs(s, false) }

// ParseClientURLs parses --listen-client-urls or --advertise-client-urls:
// http and https URLs with a host and a port, or, as etcd, unix and unixs
// URLs whose host and path name a unix socket (unix://localhost:2379 is
// the socket "localhost:2379" in the working directory).
func ParseClientURLs(s string) ([]url.URL, error) { return parseURLs(s, true) }

// parseURLs parses the list s, whose entries may be unix sockets if unix
// is set.
func parseURLs(s string, unix bool) ([]url.URL, error) {
	var out []url.URL
	for _, raw := range SplitURLs(s) {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		switch {
		case u.Scheme == "http" || u.Scheme == "https":
			if u.Port() == "" {
				return nil, fmt.Errorf("URL %q: a port is required", raw)
			}
		case unix && (u.Scheme == "unix" || u.Scheme == "unixs"):
			if u.Host+u.Path == "" {
				return nil, fmt.Errorf("URL %q: a unix socket path is required", raw)
			}
		case unix:
			return nil, fmt.Errorf("URL %q: scheme %q is not supported (use http, https, unix or unixs)", raw, u.Scheme)
		default:
			return nil, fmt.Errorf("URL %q: scheme %q is not supported (use http or https)", raw, u.Scheme)
		}
		out = append(out, *u)
	}
	if len(out) == 0 {
		return nil, errors.New("no URL given")
	}
	return out, nil
}

// hasTLSURL reports whether a comma-separated URL list has an https or
// unixs URL: one served with TLS.
func hasTLSURL(s string) bool {
	for _, u := range SplitURLs(s) {
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "unixs://") {
			return true
		}
	}
	return false
}
