package storage

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/redact"
)

// Checksum modes for S3Config.Checksum.
const (
	// ChecksumWhenRequired sends and checks the SDK's CRC checksums only
	// where an operation requires them, which every S3-compatible server
	// accepts. Uploads still carry a Content-MD5 of every part.
	ChecksumWhenRequired = "when_required"
	// ChecksumWhenSupported adds CRC32 checksums to every upload and
	// validates them on downloads: AWS S3's default, which some
	// S3-compatible servers reject.
	ChecksumWhenSupported = "when_supported"
)

// Part size limits of S3 multipart uploads.
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	maxParts    = 10000
)

// S3Config configures an S3 store. Zero values take the defaults noted.
type S3Config struct {
	// Bucket holds the objects (S3_BUCKET). Required.
	Bucket string
	// Prefix is prepended to every key (S3_PREFIX); a trailing slash is
	// added when missing.
	Prefix string
	// Region of the bucket (S3_REGION); empty takes AWS_REGION or the
	// shared config, and "us-east-1" when Endpoint is set.
	Region string
	// Endpoint is the URL of an S3-compatible server (S3_ENDPOINT), such
	// as "http://127.0.0.1:7070"; empty means AWS S3.
	Endpoint string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET instead of
	// BUCKET.ENDPOINT (S3_PATH_STYLE); MinIO, Ceph and versitygw need it.
	PathStyle bool
	// PublicURL is where listeners reach the bucket's root, such as a CDN
	// (S3_PUBLIC_URL); an object's URL is PublicURL/PREFIX/KEY. Empty: the
	// bucket's own address on the endpoint.
	PublicURL string
	// Checksum is ChecksumWhenRequired (default) or ChecksumWhenSupported
	// (S3_CHECKSUM).
	Checksum string
	// AccessKeyID and SecretAccessKey are static credentials; when both
	// are empty the SDK's default chain is used (environment, shared
	// files, web identity, instance role).
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken goes with temporary static credentials; usually empty.
	SessionToken string
	// PartSize is the size of multipart upload parts; larger objects are
	// uploaded in parts, smaller ones in one request. Default 8 MiB,
	// at least 5 MiB.
	PartSize int64
	// MaxAttempts bounds the SDK's attempts per request, the first
	// included. Default 3.
	MaxAttempts int
	// ConnectTimeout bounds establishing a connection. Default 5 s.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the wait for a response to start and any
	// stall while reading one. Default 30 s.
	ResponseTimeout time.Duration
}

func (c *S3Config) setDefaults() {
	c.Bucket = strings.TrimSpace(c.Bucket)
	c.Endpoint = strings.TrimRight(strings.TrimSpace(c.Endpoint), "/")
	c.PublicURL = strings.TrimRight(strings.TrimSpace(c.PublicURL), "/")
	c.Prefix = strings.TrimLeft(c.Prefix, "/")
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.Checksum == "" {
		c.Checksum = ChecksumWhenRequired
	}
	if c.PartSize == 0 {
		c.PartSize = 8 << 20
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.ResponseTimeout == 0 {
		c.ResponseTimeout = 30 * time.Second
	}
}

// Validate reports every setting that cannot work, after filling defaults.
func (c *S3Config) Validate() error {
	c.setDefaults()
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("storage: s3: "+format, args...))
	}
	switch {
	case c.Bucket == "":
		add("no bucket: set S3_BUCKET")
	case strings.ContainsAny(c.Bucket, "/ "):
		add("bucket %q: a bucket name has no slashes or spaces (put a path in S3_PREFIX)", c.Bucket)
	}
	if c.Prefix != "" {
		if err := validPrefix(c.Prefix); err != nil {
			add("prefix %q: use slash-separated names without empty, '.' or '..' parts", c.Prefix)
		}
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			add("endpoint %q: use a URL such as https://s3.example.com or http://127.0.0.1:7070", redact.URL(c.Endpoint))
		case u.User != nil || u.RawQuery != "":
			add("endpoint %q: S3 takes no credentials or query in its URL; set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY", redact.URL(c.Endpoint))
		case !c.PathStyle && isIPOrLocal(u.Hostname()):
			add("endpoint %q: a bucket cannot be a subdomain of %s: set S3_PATH_STYLE=true", redact.URL(c.Endpoint), u.Hostname())
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("public URL %q: use an absolute URL such as https://cdn.example.com/audio", redact.URL(c.PublicURL))
		}
	}
	if c.Checksum != ChecksumWhenRequired && c.Checksum != ChecksumWhenSupported {
		add("checksum mode %q: use %q or %q", c.Checksum, ChecksumWhenRequired, ChecksumWhenSupported)
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		add("static credentials need both an access key id and a secret access key")
	}
	if c.PartSize < MinPartSize || c.PartSize > MaxPartSize {
		add("part size %d: S3 accepts parts of %d to %d bytes", c.PartSize, MinPartSize, MaxPartSize)
	}
	if c.MaxAttempts < 1 {
		add("max attempts %d: must be at least 1", c.MaxAttempts)
	}
	if c.ConnectTimeout < 0 || c.ResponseTimeout < 0 {
		add("timeouts must not be negative")
	}
	return errors.Join(errs...)
}

func isIPOrLocal(host string) bool {
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// bucketURL is the bucket's own address, the default public URL.
func (c *S3Config) bucketURL(region string) string {
	if c.Endpoint == "" {
		if c.PathStyle {
			return "https://s3." + region + ".amazonaws.com/" + c.Bucket
		}
		return "https://" + c.Bucket + ".s3." + region + ".amazonaws.com"
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return c.Endpoint + "/" + c.Bucket
	}
	if c.PathStyle {
		u.Path = strings.TrimRight(u.Path, "/") + "/" + c.Bucket
	} else {
		u.Host = c.Bucket + "." + u.Host
	}
	return u.String()
}
