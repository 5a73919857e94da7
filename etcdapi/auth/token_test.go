package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

type timeT = time.Time

const second = time.Second

func timeAt(s int) time.Time { return time.Unix(1_000_000+int64(s), 0) }

func writeECKeys(t *testing.T) (priv, pub string) {
	return writeECKeysTo(t, t.TempDir())
}

func writeECKeysTo(t testing.TB, dir string) (priv, pub string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	priv = filepath.Join(dir, "priv.pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600))
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pub = filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o600))
	return priv, pub
}

func TestJWTTokens(t *testing.T) {
	priv, pub := writeECKeys(t)
	lg := zaptest.NewLogger(t)
	tp, err := newTokenProvider(lg, TokenOptions{Spec: "jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=ES256,ttl=1h"}, nil)
	require.NoError(t, err)
	tok, err := tp.sign("alice", 42)
	require.NoError(t, err)
	ai, ok := tp.info(context.Background(), tok, 99)
	require.True(t, ok)
	require.Equal(t, Info{User: "alice", Revision: 42}, ai)

	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
	_, ok = tp.info(context.Background(), tampered, 99)
	require.False(t, ok, "tampered payload")

	verifyOnly, err := newTokenProvider(lg, TokenOptions{Spec: "jwt,pub-key=" + pub + ",sign-method=ES256"}, nil)
	require.NoError(t, err)
	_, ok = verifyOnly.info(context.Background(), tok, 1)
	require.True(t, ok)
	_, err = verifyOnly.sign("alice", 1)
	require.ErrorIs(t, err, ErrVerifyOnly)

	expired, err := newTokenProvider(lg, TokenOptions{Spec: "jwt,priv-key=" + priv + ",sign-method=ES256,ttl=-1m"}, nil)
	require.NoError(t, err)
	old, err := expired.sign("alice", 1)
	require.NoError(t, err)
	_, ok = tp.info(context.Background(), old, 1)
	require.False(t, ok, "expired")

	for _, bad := range []string{"jwt,sign-method=NOPE,priv-key=" + priv, "jwt,sign-method=ES256", "bogus", "jwt,ttl", "jwt,a=1,a=2"} {
		_, err := newTokenProvider(lg, TokenOptions{Spec: bad}, nil)
		require.ErrorIs(t, err, ErrInvalidAuthOpts, bad)
	}
}
