// Command narrator turns news articles into narrated audio. Each subcommand
// parses its flags, wires packages together and runs them; the logic lives in
// the packages under services/, queue/ and storage/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// stdio is where a command reads and writes, so tests can run commands.
type stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// command is one subcommand. Files of this package register theirs in init.
type command struct {
	Name    string // "narrate", or "mp3 inspect" for a nested command
	Summary string
	Run     func(ctx context.Context, args []string, io stdio) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// usageError is an error in how a command was called; it exits with 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and turns its error into an exit code.
func run(ctx context.Context, args []string, io stdio) int {
	cmd, rest := lookup(args)
	if cmd == nil {
		switch {
		case len(args) == 0:
			usage(io.Err)
			return 2
		case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
			usage(io.Out)
			return 0
		case args[0] == "version" || args[0] == "-version" || args[0] == "--version":
			fmt.Fprintln(io.Out, version())
			return 0
		}
		fmt.Fprintf(io.Err, "narrator: unknown command %q\n\n", strings.Join(args, " "))
		usage(io.Err)
		return 2
	}
	err := cmd.Run(ctx, rest, io)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(io.Err, "narrator %s: %s\n", cmd.Name, ue.msg)
		return 2
	default:
		fmt.Fprintf(io.Err, "narrator %s: %s\n", cmd.Name, err)
		return 1
	}
}

// lookup finds the command with the longest name matching the arguments.
func lookup(args []string) (*command, []string) {
	var best *command
	n := 0
	for _, c := range commands {
		words := strings.Fields(c.Name)
		if len(words) > n && len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			best, n = c, len(words)
		}
	}
	if best == nil {
		return nil, args
	}
	return best, args[n:]
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "narrator turns news articles into narrated audio.")
	fmt.Fprintln(w, "\nUsage: narrator COMMAND [flags] [args]\n\nCommands:")
	cs := slices.Clone(commands)
	slices.SortFunc(cs, func(a, b *command) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nRun 'narrator COMMAND --help' for a command's flags; 'narrator --version' for the version.")
}

// newFlags returns a flag set for a command whose usage line and errors go
// to the command's error stream.
func newFlags(name, synopsis string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("narrator "+name, flag.ContinueOnError)
	fs.SetOutput(io.Err)
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "Usage: narrator %s %s\n\n", name, synopsis)
		printFlags(io.Err, fs)
	}
	return fs
}

// secretsHelp lists the settings read only from the environment, because
// secrets do not belong on command lines.
var secretsHelp = []string{
	"OPENAI_API_KEY: the OpenAI (or compatible server's) API key (env OPENAI_API_KEY, or a file: env OPENAI_API_KEY_FILE)",
	"LISTEN_API_KEY: the transcription server's API key for the listening check; default OPENAI_API_KEY (env LISTEN_API_KEY, or a file: env LISTEN_API_KEY_FILE)",
	"S3 keys: static credentials for the bucket (env S3_ACCESS_KEY_ID, env S3_SECRET_ACCESS_KEY, or files: env S3_ACCESS_KEY_ID_FILE, env S3_SECRET_ACCESS_KEY_FILE)",
	"AWS credentials and region for Polly and S3: the AWS SDK's own variables (env AWS_REGION, env AWS_ACCESS_KEY_ID, env AWS_SECRET_ACCESS_KEY, env AWS_PROFILE)",
	"API tokens: name:scope:secret, comma-separated; scope read or editor (env NARRATOR_API_TOKENS, or a file: env NARRATOR_API_TOKENS_FILE)",
	"CMS webhook secret (env NARRATOR_CMS_SECRET, or a file: env NARRATOR_CMS_SECRET_FILE)",
	"outgoing webhooks: endpoints, comma-separated, and the signing secret (env NARRATOR_WEBHOOK_URLS, env NARRATOR_WEBHOOK_SECRET, or a file: env NARRATOR_WEBHOOK_SECRET_FILE)",
	"dashboard: prices in dollars per million characters, provider:price (env NARRATOR_PRICES); player path for previews (env NARRATOR_PLAYER_PATH); cookies marked Secure behind a TLS proxy (env NARRATOR_SECURE_COOKIES)",
	"dashboard sign-ins: how long one lasts, default 12h (env NARRATOR_SESSION_LIFETIME); failed sign-ins an address may make per 15 minutes, default 10, or off (env NARRATOR_SIGNIN_LIMIT); the header a reverse proxy gives the client's address in, e.g. X-Forwarded-For (env NARRATOR_CLIENT_IP_HEADER)",
	"limits: event streams one API token may hold open per server, default 20 (env NARRATOR_STREAMS_PER_TOKEN); a CMS webhook's body, default 2MiB (env NARRATOR_CMS_MAX_BODY)",
	"traces: OTLP/HTTP endpoint; off when unset (env OTEL_EXPORTER_OTLP_ENDPOINT)",
	"C2PA signing key of the publication, PEM, with --c2pa-cert (env NARRATOR_C2PA_KEY, or a file: env NARRATOR_C2PA_KEY_FILE)",
}

// withEnvHelp adds lines about environment-only settings to a command's
// usage.
func withEnvHelp(fs *flag.FlagSet, io stdio, lines []string) {
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintln(io.Err, "\nAlso read from the environment:")
		for _, l := range lines {
			fmt.Fprintf(io.Err, "  %s\n", l)
		}
	}
}

// parseFlags parses args, turning a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
