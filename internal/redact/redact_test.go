package redact

import (
	"net/url"
	"slices"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.example/v1.0/x?$select=id&$skiptoken=abc": "https://graph.example/v1.0/x?$select=id&$skiptoken=abc",
		"https://h/p?client_secret=s3cr3t&a=1":                   "https://h/p?a=1&client_secret=REDACTED",
		"https://user:pw@h/p":                                    "https://REDACTED@h/p",
		"https://h/p?access_token=t":                             "https://h/p?access_token=REDACTED",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArgs(t *testing.T) {
	in := []string{"custos", "collect", "--client-secret", "hunter2", "--token=abc", "--client-secret-file", "/s", "--tenant", "t"}
	want := []string{"custos", "collect", "--client-secret", "REDACTED", "--token=REDACTED", "--client-secret-file", "/s", "--tenant", "t"}
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
}
