package main

// Signing keys for the commands that sign (seal, custody add): an OpenSSH
// private key file, or a key held by ssh-agent (DESIGN §6.2).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/custos-ir/custos/preserve"
)

// agentSocketEnv names the ssh-agent socket, as set by ssh-agent itself.
const agentSocketEnv = "SSH_AUTH_SOCK"

// Flags of the commands that sign; give them with commonFlags.
var (
	keyFlag = &cli.StringFlag{Name: "key", Usage: "sign with the OpenSSH private key in `FILE` (passphrase from the file named by " +
		preserve.PassphraseEnv + ", else asked for on the terminal); with --agent, FILE is the key's .pub file (or its private key file, " +
		"which is not decrypted) and selects which agent key signs"}
	agentFlag = &cli.BoolFlag{Name: "agent", Usage: "sign with a key held by ssh-agent (" + agentSocketEnv +
		"): the key --key names, else the agent's only key"}
)

// keySource says where the signing key comes from. keySourceFrom gathers
// it from flags and environment in one place; the precedence is:
//
//   - --agent: the agent at SSH_AUTH_SOCK; --key FILE, if also given,
//     selects the agent key by FILE's public half.
//   - --key FILE: the private key file; an encrypted key's passphrase comes
//     from the file named by CUSTOS_KEY_PASSPHRASE_FILE, else from a prompt
//     when stdin is a terminal, else it is an error.
//   - neither: a usage error.
type keySource struct {
	keyFile        string
	useAgent       bool
	agentSocket    string
	passphraseFile string
	// prompt asks for a passphrase without echo; nil when stdin is not a
	// terminal.
	prompt func(prompt string) ([]byte, error)
}

func keySourceFrom(c *cli.Context) keySource {
	return keySource{
		keyFile:        c.String(keyFlag.Name),
		useAgent:       c.Bool(agentFlag.Name),
		agentSocket:    os.Getenv(agentSocketEnv),
		passphraseFile: os.Getenv(preserve.PassphraseEnv),
		prompt:         terminalPrompt(c.App.Reader, c.App.ErrWriter),
	}
}

// openSigner returns the signer the command line names and a function
// releasing it (it closes the agent connection); call that when signing is
// done. The release function is never nil.
func openSigner(c *cli.Context) (ssh.Signer, func(), error) {
	return keySourceFrom(c).open()
}

func (ks keySource) open() (ssh.Signer, func(), error) {
	noop := func() {}
	switch {
	case ks.useAgent:
		s, err := ks.agentSigner()
		if err != nil {
			return nil, noop, err
		}
		return s, func() { s.Close() }, nil
	case ks.keyFile != "":
		s, err := loadSigner(ks.keyFile, ks.passphrase)
		return s, noop, err
	}
	return nil, noop, usageError{errors.New("--key FILE or --agent is required to sign; create a key with 'custos keygen', or use a key loaded in ssh-agent")}
}

// agentSigner connects to ssh-agent and picks the key: the one whose public
// half is in --key, else the agent's only key.
func (ks keySource) agentSigner() (*preserve.AgentSigner, error) {
	if ks.agentSocket == "" {
		return nil, fmt.Errorf("--agent: %s is not set; start ssh-agent (eval \"$(ssh-agent)\") and add your key with ssh-add", agentSocketEnv)
	}
	var sel preserve.KeySelector
	if ks.keyFile != "" {
		data, err := os.ReadFile(ks.keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the key that selects the agent key: %w", err)
		}
		pub, err := preserve.ParsePublicKeyFile(data)
		clear(data) // it may be a private key
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ks.keyFile, err)
		}
		sel.PublicKey = pub
	}
	s, err := preserve.OpenAgentSigner(ks.agentSocket, sel)
	switch {
	case errors.Is(err, preserve.ErrAgentKeyAmbiguous):
		return nil, usageError{fmt.Errorf("--agent: choose the key with --key FILE.pub: %w", err)}
	case errors.Is(err, preserve.ErrNoAgentKey) && ks.keyFile != "":
		return nil, fmt.Errorf("--agent --key %s (add the key to the agent with ssh-add): %w", ks.keyFile, err)
	case err != nil:
		return nil, fmt.Errorf("--agent: %w", err)
	}
	return s, nil
}

// loadSigner reads an OpenSSH (or PEM) private key file. passphrase is
// called only for an encrypted key; the passphrase and the file's bytes are
// zeroed once the key is parsed.
func loadSigner(path string, passphrase func(path string) ([]byte, error)) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	defer clear(data)
	var pw []byte
	defer func() { clear(pw[:cap(pw)]) }()
	s, err := preserve.LoadSigner(data, func() ([]byte, error) {
		var err error
		pw, err = passphrase(path)
		return pw, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// passphrase gets the passphrase of the encrypted key file path.
func (ks keySource) passphrase(path string) ([]byte, error) {
	switch {
	case ks.passphraseFile != "":
		pw, err := readPassphraseFile(ks.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", preserve.PassphraseEnv, err)
		}
		return pw, nil
	case ks.prompt != nil:
		return ks.prompt(fmt.Sprintf("Enter passphrase for key '%s': ", path))
	}
	return nil, fmt.Errorf("the key is passphrase-protected and stdin is not a terminal to ask on: set %s to a file holding the passphrase, or use --agent", preserve.PassphraseEnv)
}

// maxPassphrase bounds a passphrase file.
const maxPassphrase = 64 << 10

// readPassphraseFile reads a passphrase, without its trailing line breaks,
// from a file or a pipe (such as bash's <(pass show key)). It reads into
// one buffer, so the caller can zero everything it read by clearing the
// result up to its capacity.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxPassphrase+1)
	n, err := io.ReadFull(f, buf)
	switch {
	case n > maxPassphrase:
		clear(buf)
		return nil, fmt.Errorf("%s: longer than %d bytes, not a passphrase", path, maxPassphrase)
	case err != nil && err != io.EOF && err != io.ErrUnexpectedEOF:
		clear(buf)
		return nil, err
	}
	for n > 0 && (buf[n-1] == '\n' || buf[n-1] == '\r') {
		n--
	}
	return buf[:n], nil
}

// terminalPrompt returns a function that writes a prompt to w and reads a
// line from the terminal on in without echo; nil when in is not a
// terminal. An interrupt at the prompt restores the terminal (echo on) and
// returns errInterrupted.
func terminalPrompt(in io.Reader, w io.Writer) func(string) ([]byte, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	fd := int(f.Fd())
	return func(prompt string) ([]byte, error) {
		state, err := term.GetState(fd)
		if err != nil {
			return nil, fmt.Errorf("reading the terminal: %w", err)
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		type line struct {
			b   []byte
			err error
		}
		read := make(chan line, 1)
		fmt.Fprint(w, prompt)
		go func() {
			b, err := term.ReadPassword(fd)
			read <- line{b, err}
		}()
		select {
		case l := <-read:
			fmt.Fprintln(w)
			if l.err != nil {
				return nil, fmt.Errorf("reading the terminal: %w", l.err)
			}
			return l.b, nil
		case <-sigs:
			term.Restore(fd, state)
			fmt.Fprintln(w)
			return nil, errInterrupted
		}
	}
}

// openCaseSigner opens the --case directory and the signing key of a
// command that writes signed evidence or custody entries. release is never
// nil.
func openCaseSigner(c *cli.Context) (*preserve.Case, ssh.Signer, func(), error) {
	cs, err := preserve.OpenCase(c.String("case"))
	if err != nil {
		return nil, nil, func() {}, err
	}
	signer, release, err := openSigner(c)
	if err != nil {
		return nil, nil, func() {}, err
	}
	return cs, signer, release, nil
}
