package redact

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.example/v1.0/x?$select=id,name&$skiptoken=abc":   "https://graph.example/v1.0/x?$select=id,name&$skiptoken=abc",
		"https://h/p?client_secret=s3cr3t&a=1":                          "https://h/p?client_secret=REDACTED&a=1",
		"https://h/p?$select=a,b&client_secret=s&$top=5":                "https://h/p?$select=a,b&client_secret=REDACTED&$top=5",
		"https://user:pw@h/p":                                           "https://REDACTED@h/p",
		"https://h/p?access_token=t":                                    "https://h/p?access_token=REDACTED",
		"https://h/p?code=abc&countryCode=fr&errorCode=1":               "https://h/p?code=REDACTED&countryCode=fr&errorCode=1",
		"https://blob/f.zip?sv=2024&sig=abc%2Bdef&se=x":                 "https://blob/f.zip?sv=2024&sig=REDACTED&se=x",
		"https://h/v1/enterprises/e/devices?pageSize=100&pageToken=xyz": "https://h/v1/enterprises/e/devices?pageSize=100&pageToken=xyz",
		"https://h/p?$deltatoken=d":                                     "https://h/p?$deltatoken=d",
		"https://h/p?a=1;password=x":                                    "https://h/p?a=1;password=REDACTED",
		"https://h/p?client%5Fsecret=x":                                 "https://h/p?client%5Fsecret=REDACTED",
		"https://h/p?%zz=x&b=2":                                         "https://h/p?REDACTED=REDACTED&b=2",
		"https://h/cb#access_token=t":                                   "https://h/cb#REDACTED",
		"https://h/p?Signature=s&X-Amz-Credential=c":                    "https://h/p?Signature=REDACTED&X-Amz-Credential=c",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := URLString("http://[::1"); got != Placeholder {
		t.Errorf("unparsable URL = %q", got)
	}
}

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
		"X-Api-Key": true, "aw-tenant-code": true, "client_secret": true, "assertion": true,
		"code": true, "sig": true, "private_key": true, "refresh_token": true,
		"request-id": false, "Retry-After": false, "countryCode": false, "signingKey": false,
		"Content-Type": false, "client_id": false, "scope": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v", name, got)
		}
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{
		"Authorization":  {"Bearer eyJtoken"},
		"Aw-Tenant-Code": {"tc"},
		"Accept":         {"application/json"},
		"Request-Id":     {"r1"},
		"Set-Cookie":     {"a=b", "c=d"},
	}
	got := Header(h)
	for k, want := range map[string]string{"Authorization": Placeholder, "Aw-Tenant-Code": Placeholder, "Set-Cookie": Placeholder, "Accept": "application/json"} {
		if got.Get(k) != want || len(got[k]) != 1 {
			t.Errorf("Header()[%s] = %q, want %q", k, got[k], want)
		}
	}
	if h.Get("Authorization") != "Bearer eyJtoken" {
		t.Error("Header modified its input")
	}
	m := Headers(h, "request-id", "Authorization", "Retry-After", "set-cookie")
	want := map[string]string{"request-id": "r1", "authorization": Placeholder, "set-cookie": Placeholder}
	if len(m) != len(want) {
		t.Errorf("Headers = %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("Headers[%s] = %q, want %q", k, m[k], v)
		}
	}
	if Headers(h, "Retry-After") != nil {
		t.Error("Headers of absent names is not nil")
	}
	sec := HeaderSecrets(h)
	for _, s := range []string{"Bearer eyJtoken", "eyJtoken", "tc"} {
		if !slices.Contains(sec, s) {
			t.Errorf("HeaderSecrets = %q, missing %q", sec, s)
		}
	}
}

func TestSecretValues(t *testing.T) {
	u, _ := url.Parse("https://h/p?client_secret=a%2Bb&$skiptoken=keep&x=1;assertion=jwt")
	got := SecretValues(u)
	for _, s := range []string{"a+b", "a%2Bb", "jwt"} {
		if !slices.Contains(got, s) {
			t.Errorf("SecretValues = %q, missing %q", got, s)
		}
	}
	if slices.Contains(got, "keep") || slices.Contains(got, "1") {
		t.Errorf("SecretValues = %q includes a non-secret", got)
	}
	form := FormSecrets([]byte("client_id=id&client_secret=s%26cret&grant_type=client_credentials"))
	if !slices.Contains(form, "s&cret") || slices.Contains(form, "id") {
		t.Errorf("FormSecrets = %q", form)
	}
}

func TestArgs(t *testing.T) {
	in := []string{"custos", "collect", "--client-secret", "hunter2", "--token=abc", "--client-secret-file", "/s", "--tenant", "t", "--tenant-code-file", "/tc"}
	want := []string{"custos", "collect", "--client-secret", "REDACTED", "--token=REDACTED", "--client-secret-file", "/s", "--tenant", "t", "--tenant-code-file", "/tc"}
	if got := Args(in); !slices.Equal(got, want) {
		t.Errorf("Args = %q, want %q", got, want)
	}
	if in[3] != "hunter2" {
		t.Error("Args modified its input")
	}
}

func TestString(t *testing.T) {
	if got := String("token abcdef leaked", "abcdef"); got != "token REDACTED leaked" {
		t.Errorf("String = %q", got)
	}
	if got := String("key abcdefgh", "abcd", "abcdefgh"); got != "key REDACTED" {
		t.Errorf("String (longest first) = %q", got)
	}
	if got := String("a b c", "b"); got != "a b c" {
		t.Errorf("String with a short secret = %q", got)
	}
}
