// Package statictoken is an auth provider that accepts the bearer tokens
// listed in a file: the smallest complete MetaStore auth plugin, to copy as
// the start of your own.
//
// Each line of the file is a token, the user it stands for and, optionally,
// a comma-separated list of groups; blank lines and lines starting with #
// are skipped:
//
//	# token            user   groups
//	s3cr3t-alice       alice  dev,ops
//	s3cr3t-ci          ci
//
// Only hashes of the tokens are kept, and a token is looked up by its hash,
// so the time a check takes does not depend on how much of a token matches.
package statictoken

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/metastore/metastore/pluginapi/auth"
)

// Name is the provider's name in Info.
const Name = "static-token"

// Version is the provider's version in Info.
const Version = "0.1.0"

// Provider accepts the tokens of one file, read at New.
type Provider struct {
	identities map[[sha256.Size]byte]auth.Identity
}

var _ auth.Provider = (*Provider)(nil)

// New reads the token file at path.
func New(path string) (*Provider, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("static-token: %w", err)
	}
	p := &Provider{identities: map[[sha256.Size]byte]auth.Identity{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("static-token: %s:%d: want \"token user [group,...]\"", path, n)
		}
		id := auth.Identity{User: fields[1]}
		if len(fields) == 3 {
			id.Groups = strings.Split(fields[2], ",")
		}
		key := sha256.Sum256([]byte(fields[0]))
		if _, dup := p.identities[key]; dup {
			return nil, fmt.Errorf("static-token: %s:%d: a token listed twice", path, n)
		}
		p.identities[key] = id
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("static-token: %s: %w", path, err)
	}
	return p, nil
}

// Info names the provider: it checks tokens, not passwords.
func (p *Provider) Info(context.Context) (auth.InfoResponse, error) {
	return auth.InfoResponse{Name: Name, Version: Version, Capabilities: []string{auth.CapabilityToken}}, nil
}

// Authenticate is not supported: the provider takes no passwords.
func (p *Provider) Authenticate(context.Context, auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	return auth.AuthenticateResponse{}, fmt.Errorf("%w: static-token checks tokens only", auth.ErrNotSupported)
}

// VerifyToken answers the identity the file lists for the token.
func (p *Provider) VerifyToken(_ context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	id, ok := p.identities[sha256.Sum256([]byte(req.Token))]
	if !ok {
		return auth.VerifyTokenResponse{}, auth.ErrInvalidToken
	}
	id.Groups = slices.Clone(id.Groups) // the caller's to change
	return auth.VerifyTokenResponse{Identity: id}, nil
}
