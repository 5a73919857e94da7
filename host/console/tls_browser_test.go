package console_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// On an https client URL the console is served over the member's TLS,
// and its session cookie is Secure as well as HttpOnly and
// SameSite=Strict.
func TestConsoleOverHTTPS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := fmt.Sprintf("https://%s", l.Addr())
	require.NoError(t, l.Close())
	cert, key := selfSignedCert(t)
	hosttest.StartMember(t, hosttest.WithArgs("--cert-file", cert, "--key-file", key, "--listen-client-urls", url, "--advertise-client-urls", url))
	_, err = hosttest.Etcdctl(t, url, "", "--insecure-skip-tls-verify", "--insecure-transport=false", "put", "/tls/key", "over https")
	require.NoError(t, err)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, step := range []string{"user add root:rootpw", "user grant-role root root", "auth enable"} {
		_, err := hosttest.Etcdctl(t, url, "", append([]string{"--insecure-skip-tls-verify", "--insecure-transport=false"}, strings.Fields(step)...)...)
		require.NoError(t, err, step)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/ui/api/login", strings.NewReader(`{"name":"root","password":"rootpw"}`))
	require.NoError(t, err)
	req.Header.Set("X-MetaStore-Console", "1")
	resp, err := client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cookie := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/ui/api/"} {
		require.Contains(t, cookie, attr)
	}

	p := newPage(t)
	p.open(url + "/ui/keys?prefix=/tls/")
	p.waitFor(`document.querySelector("#login")`)
	// An expired token gets the console's login form, not a password
	// prompt of the browser's own.
	port := url[strings.LastIndexByte(url, ':')+1:]
	_ = eval[bool](p, `document.cookie = "metastore_console_`+port+`=expired.1; path=/ui/api/; secure", true`)
	p.open(url + "/ui/keys?prefix=/tls/")
	p.waitText("#login", "invalid auth token")
	p.login("root", "rootpw")
	p.click(`#tree-list li[data-key="/tls/key"]`)
	p.waitText("#value", "over https")
	p.waitText("#tail-status", "Watching since revision")
}

// selfSignedCert writes a P-256 certificate for 127.0.0.1 and its key
// (etcd's --auto-tls makes P-521 ones, which chromium refuses).
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "metastore console test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}
