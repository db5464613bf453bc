// Package sourcecontrol is the Source Control settings area: an
// organization (hub users) or one of its partner organizations (partner
// users) connects its code-repository account by signing in to the provider
// with the OAuth 2.0 authorization-code flow and PKCE.
//
// The flow, and where each secret lives:
//
//  1. POST /source-control/connect stores a pending authorization under the
//     SHA-256 of a fresh 32-byte state (10-minute TTL), bound to the caller's
//     organization, partner and user, with the PKCE verifier sealed; it
//     answers the provider's authorize URL.
//  2. The provider sends the browser to GET /source-control/callback, a
//     public route authorized by the state alone. The state is consumed by a
//     conditional delete before anything else happens, the code is
//     exchanged with the verifier, the account is looked up with the access
//     token, and the connection replaces any earlier one in one write.
//  3. The browser is sent (303) to the hub front end's Source Control page
//     with ?connected=<provider> or ?error=<code>.
//
// Access and refresh tokens are sealed with AES-GCM (the keyring's
// "source-control" key, bound to the connection's table key); no response
// and no log line carries them.
package sourcecontrol

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ProviderID names a code-repository provider in the API, in the callback
// redirect and in configuration.
type ProviderID string

const (
	GitHub      ProviderID = "github"
	GitLab      ProviderID = "gitlab"
	Bitbucket   ProviderID = "bitbucket"
	AzureDevOps ProviderID = "azure_devops"
)

// ProviderConfig is one provider's OAuth client as configured for this hub.
type ProviderConfig struct {
	ClientID     string
	ClientSecret string
	AuthURL      string
	TokenURL     string
	// UserURL answers the signed-in account's identity for the access token.
	UserURL string
	Scopes  []string
}

// Config is the area's configuration: the configured providers (a provider
// without a client id is absent and answers provider_not_configured), the
// callback URL registered with every provider, and the time allowed for
// one request to a provider.
type Config struct {
	Providers map[ProviderID]ProviderConfig
	// RedirectURL is the API's callback route as registered with the
	// providers. Empty derives https://<API Gateway domain>/source-control/callback
	// from the request that starts the flow.
	RedirectURL string
	// RequestTimeout bounds each call to a provider; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// DefaultRequestTimeout keeps a token exchange, its one retry and the
// account lookup within the function's 10-second timeout.
const DefaultRequestTimeout = 3 * time.Second

// spec is what the hub knows of a provider: its real endpoints, how its
// token endpoint takes the client's credentials, and where its identity
// answer names the account.
//
// PKCE (S256) is sent to every provider: GitHub, GitLab and Bitbucket
// document it for their OAuth apps. Azure DevOps' own OAuth 2.0 is
// deprecated and has accepted no new app registrations since April 2025
// (learn.microsoft.com, "Authorize access to REST APIs with OAuth 2.0"), so
// the hub signs in to Azure DevOps through Microsoft Entra ID, whose v2.0
// authorization-code flow supports PKCE and recommends it for confidential
// (client-secret) web apps too. Entra ID scopes name the Azure DevOps
// resource (499b84ac-1321-427f-aa17-267ca6975798); offline_access asks for
// a refresh token.
type spec struct {
	id        ProviderID
	name      string
	envPrefix string
	defaults  ProviderConfig
	authStyle oauth2.AuthStyle
	// loginFields are tried in order for the account's display login.
	loginFields []string
	idField     string
}

const azureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

var specs = []spec{
	{
		id: GitHub, name: "GitHub", envPrefix: "HUB_OAUTH_GITHUB",
		defaults: ProviderConfig{
			AuthURL:  "https://github.com/login/oauth/authorize",
			TokenURL: "https://github.com/login/oauth/access_token",
			UserURL:  "https://api.github.com/user",
			Scopes:   []string{"repo", "read:user"},
		},
		authStyle:   oauth2.AuthStyleInParams,
		loginFields: []string{"login"},
		idField:     "id",
	},
	{
		id: GitLab, name: "GitLab", envPrefix: "HUB_OAUTH_GITLAB",
		defaults: ProviderConfig{
			AuthURL:  "https://gitlab.com/oauth/authorize",
			TokenURL: "https://gitlab.com/oauth/token",
			UserURL:  "https://gitlab.com/api/v4/user",
			Scopes:   []string{"read_user", "read_repository", "write_repository"},
		},
		authStyle:   oauth2.AuthStyleInParams,
		loginFields: []string{"username"},
		idField:     "id",
	},
	{
		// Bitbucket Cloud grants the scopes set on the OAuth consumer, so
		// none are requested unless configured; its token endpoint takes
		// the client credentials as HTTP Basic.
		id: Bitbucket, name: "Bitbucket", envPrefix: "HUB_OAUTH_BITBUCKET",
		defaults: ProviderConfig{
			AuthURL:  "https://bitbucket.org/site/oauth2/authorize",
			TokenURL: "https://bitbucket.org/site/oauth2/access_token",
			UserURL:  "https://api.bitbucket.org/2.0/user",
		},
		authStyle:   oauth2.AuthStyleInHeader,
		loginFields: []string{"username", "nickname", "display_name"},
		idField:     "uuid",
	},
	{
		id: AzureDevOps, name: "Azure DevOps", envPrefix: "HUB_OAUTH_AZURE_DEVOPS",
		defaults: ProviderConfig{
			AuthURL:  "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
			TokenURL: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
			UserURL:  "https://app.vssps.visualstudio.com/_apis/profile/profiles/me?api-version=7.1",
			Scopes:   []string{azureDevOpsResource + "/vso.code_write", azureDevOpsResource + "/vso.profile", "offline_access"},
		},
		authStyle:   oauth2.AuthStyleInParams,
		loginFields: []string{"emailAddress", "displayName"},
		idField:     "id",
	},
}

func specOf(id ProviderID) (spec, bool) {
	for _, s := range specs {
		if s.id == id {
			return s, true
		}
	}
	return spec{}, false
}

// RedirectURLVariable names the callback URL's environment variable.
const RedirectURLVariable = "HUB_OAUTH_REDIRECT_URL"

// FromEnv reads the providers from getenv (os.Getenv): for each provider
// <P> in GITHUB, GITLAB, BITBUCKET, AZURE_DEVOPS, HUB_OAUTH_<P>_CLIENT_ID and
// _CLIENT_SECRET, and optionally _AUTH_URL, _TOKEN_URL, _USER_URL (the real
// provider's by default) and _SCOPES (space or comma separated). A provider
// without a client id is not configured; a client id without its secret,
// or a URL that is not absolute http(s), is an error, so a misconfigured
// function fails at init rather than at a user's sign-in.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Providers: map[ProviderID]ProviderConfig{}, RedirectURL: strings.TrimSpace(getenv(RedirectURLVariable))}
	if cfg.RedirectURL != "" {
		if err := checkURL(RedirectURLVariable, cfg.RedirectURL); err != nil {
			return Config{}, err
		}
	}
	for _, s := range specs {
		env := func(suffix string) (string, string) {
			name := s.envPrefix + "_" + suffix
			return name, strings.TrimSpace(getenv(name))
		}
		_, id := env("CLIENT_ID")
		if id == "" {
			continue
		}
		secretName, secret := env("CLIENT_SECRET")
		if secret == "" {
			return Config{}, fmt.Errorf("sourcecontrol: %s is required when %s_CLIENT_ID is set", secretName, s.envPrefix)
		}
		pc := s.defaults
		pc.ClientID, pc.ClientSecret = id, secret
		for suffix, field := range map[string]*string{"AUTH_URL": &pc.AuthURL, "TOKEN_URL": &pc.TokenURL, "USER_URL": &pc.UserURL} {
			name, v := env(suffix)
			if v == "" {
				continue
			}
			if err := checkURL(name, v); err != nil {
				return Config{}, err
			}
			*field = v
		}
		if _, v := env("SCOPES"); v != "" {
			pc.Scopes = splitScopes(v)
		}
		cfg.Providers[s.id] = pc
	}
	return cfg, nil
}

func checkURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("sourcecontrol: %s is not an absolute http(s) URL without credentials or fragment", name)
	}
	return nil
}

// splitScopes reads a scope list separated by spaces (RFC 6749) or commas
// (GitHub's token answer).
func splitScopes(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	seen := make(map[string]bool, len(fields))
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// provider is a configured provider ready to run the flow.
type provider struct {
	spec
	config ProviderConfig
}

func (p provider) oauth(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.config.ClientID,
		ClientSecret: p.config.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.config.AuthURL, TokenURL: p.config.TokenURL, AuthStyle: p.authStyle},
		RedirectURL:  redirectURL,
		Scopes:       p.config.Scopes,
	}
}
