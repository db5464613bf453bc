package sourcecontrol_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/sourcecontrol"
)

func TestFromEnvConfiguresOnlyProvidersWithAClient(t *testing.T) {
	github := map[string]string{"HUB_OAUTH_GITHUB_CLIENT_ID": "id", "HUB_OAUTH_GITHUB_CLIENT_SECRET": "secret"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range github {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string // a substring naming the variable at fault
		check   func(t *testing.T, cfg sourcecontrol.Config)
	}{
		{name: "nothing configured", env: map[string]string{}, check: func(t *testing.T, cfg sourcecontrol.Config) {
			if len(cfg.Providers) != 0 || cfg.RedirectURL != "" {
				t.Fatalf("%+v", cfg)
			}
		}},
		{name: "defaults are the real provider's", env: github, check: func(t *testing.T, cfg sourcecontrol.Config) {
			pc := cfg.Providers[sourcecontrol.GitHub]
			if pc.AuthURL != "https://github.com/login/oauth/authorize" || pc.UserURL != "https://api.github.com/user" || strings.Join(pc.Scopes, " ") != "repo read:user" {
				t.Fatalf("%+v", pc)
			}
			if len(cfg.Providers) != 1 {
				t.Fatalf("configured %d providers, want GitHub only", len(cfg.Providers))
			}
		}},
		{name: "a secret without a client id configures nothing", env: map[string]string{"HUB_OAUTH_GITLAB_CLIENT_SECRET": "secret"}, check: func(t *testing.T, cfg sourcecontrol.Config) {
			if len(cfg.Providers) != 0 {
				t.Fatalf("%+v", cfg.Providers)
			}
		}},
		{name: "self-managed GitLab with its own scopes", env: map[string]string{
			"HUB_OAUTH_GITLAB_CLIENT_ID": "id", "HUB_OAUTH_GITLAB_CLIENT_SECRET": "secret",
			"HUB_OAUTH_GITLAB_AUTH_URL": "https://git.example.com/oauth/authorize", "HUB_OAUTH_GITLAB_TOKEN_URL": "https://git.example.com/oauth/token",
			"HUB_OAUTH_GITLAB_USER_URL": "https://git.example.com/api/v4/user", "HUB_OAUTH_GITLAB_SCOPES": "api, read_user api",
		}, check: func(t *testing.T, cfg sourcecontrol.Config) {
			pc := cfg.Providers[sourcecontrol.GitLab]
			if pc.TokenURL != "https://git.example.com/oauth/token" || strings.Join(pc.Scopes, " ") != "api read_user" {
				t.Fatalf("%+v", pc)
			}
		}},
		{name: "callback URL", env: with(map[string]string{"HUB_OAUTH_REDIRECT_URL": "https://api.example.com/source-control/callback"}), check: func(t *testing.T, cfg sourcecontrol.Config) {
			if cfg.RedirectURL != "https://api.example.com/source-control/callback" {
				t.Fatalf("%q", cfg.RedirectURL)
			}
		}},
		{name: "client id without its secret", env: map[string]string{"HUB_OAUTH_BITBUCKET_CLIENT_ID": "id"}, wantErr: "HUB_OAUTH_BITBUCKET_CLIENT_SECRET"},
		{name: "token URL that is not http(s)", env: with(map[string]string{"HUB_OAUTH_GITHUB_TOKEN_URL": "ftp://github.com/token"}), wantErr: "HUB_OAUTH_GITHUB_TOKEN_URL"},
		{name: "auth URL with credentials", env: with(map[string]string{"HUB_OAUTH_GITHUB_AUTH_URL": "https://user:pw@github.com/login"}), wantErr: "HUB_OAUTH_GITHUB_AUTH_URL"},
		{name: "relative callback URL", env: with(map[string]string{"HUB_OAUTH_REDIRECT_URL": "/source-control/callback"}), wantErr: "HUB_OAUTH_REDIRECT_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sourcecontrol.FromEnv(func(name string) string { return tc.env[name] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				for _, v := range tc.env {
					if v == "secret" && strings.Contains(err.Error(), v) {
						t.Fatalf("the error quotes a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}
