// Package oidc is an auth provider that verifies bearer tokens issued by an
// OpenID Connect identity provider (or any JWT issuer): the signature
// against a JSON Web Key Set (read from a file, or fetched over https and
// refreshed, or found through the issuer's OpenID Connect discovery
// document; see jwks.go), the issuer, the audience and the expiry. The
// user is a claim of the token ("sub" unless configured), and the groups
// another ("groups"). It takes no passwords.
//
// It runs as a plugin process (cmd/metastore-auth-oidc) or in process, and
// imports nothing of MetaStore's outside pluginapi.
package oidc
