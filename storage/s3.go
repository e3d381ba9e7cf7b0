package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/narrator-project/narrator/services/redact"
)

// S3 stores objects in an S3 bucket: AWS S3 or any S3-compatible server.
type S3 struct {
	client *s3.Client
	cfg    S3Config
	base   string // public URL of the bucket's root
	where  string // "bucket "b" at ENDPOINT", for error messages
}

// NewS3 validates cfg and builds a client; it does not contact the server
// (Check does). Requests are retried by the SDK's standard retryer, with
// timeouts that bound how long a dead or stalled endpoint can hold a call.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = cfg.ConnectTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = cfg.ConnectTimeout
			t.ResponseHeaderTimeout = cfg.ResponseTimeout
		}).
		WithReadTimeout(cfg.ResponseTimeout)
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = cfg.MaxAttempts })
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.Checksum == ChecksumWhenRequired {
		opts = append(opts,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	} else {
		opts = append(opts,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenSupported),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenSupported))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage: s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("storage: s3: no region for AWS S3: set S3_REGION (or AWS_REGION)")
		}
		// S3-compatible servers accept any region in signatures; this is
		// the one they default to.
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Servers that send no checksum are normal here, not worth a
		// warning on every download.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &S3{client: client, cfg: cfg, base: cfg.PublicURL}
	if s.base == "" {
		s.base = cfg.bucketURL(awsCfg.Region)
	}
	if cfg.Endpoint != "" {
		s.where = fmt.Sprintf("bucket %q at %s", cfg.Bucket, redact.URL(cfg.Endpoint))
	} else {
		s.where = fmt.Sprintf("bucket %q in AWS S3 region %s", cfg.Bucket, awsCfg.Region)
	}
	return s, nil
}

// Check asks the server whether the bucket exists and the credentials may
// use it, so that a command can refuse to start with a clear message.
func (s *S3) Check(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.cfg.Bucket)})
	if err == nil {
		return nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return permanent(fmt.Errorf("storage: s3: %s does not exist: create it or fix S3_BUCKET: %w", s.where, err))
		case http.StatusForbidden, http.StatusUnauthorized:
			return permanent(fmt.Errorf("storage: s3: access to %s denied: check the credentials: %w", s.where, err))
		case http.StatusMovedPermanently:
			return permanent(fmt.Errorf("storage: s3: %s is in another region: fix S3_REGION: %w", s.where, err))
		}
	}
	return s.fail("check", "", err)
}

// key maps a store key to the object key in the bucket.
func (s *S3) key(key string) *string { return aws.String(s.cfg.Prefix + key) }

// URL returns the public address of key.
func (s *S3) URL(key string) string { return joinURL(s.base, s.cfg.Prefix+key) }

// Get opens the object; the body streams from the server.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := ValidKey(key); err != nil {
		return nil, Object{}, fmt.Errorf("storage: s3 get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.key(key)})
	if err != nil {
		return nil, Object{}, s.fail("get", key, err)
	}
	return out.Body, Object{
		Key:      key,
		Size:     aws.ToInt64(out.ContentLength),
		Modified: aws.ToTime(out.LastModified),
		ETag:     aws.ToString(out.ETag),
		Meta: Meta{
			ContentType:        aws.ToString(out.ContentType),
			CacheControl:       aws.ToString(out.CacheControl),
			ContentDisposition: aws.ToString(out.ContentDisposition),
		},
	}, nil
}

// Head describes the object with a HEAD request.
func (s *S3) Head(ctx context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage: s3 head: %w", err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.key(key)})
	if err != nil {
		return Object{}, s.fail("head", key, err)
	}
	return Object{
		Key:      key,
		Size:     aws.ToInt64(out.ContentLength),
		Modified: aws.ToTime(out.LastModified),
		ETag:     aws.ToString(out.ETag),
		Meta: Meta{
			ContentType:        aws.ToString(out.ContentType),
			CacheControl:       aws.ToString(out.CacheControl),
			ContentDisposition: aws.ToString(out.ContentDisposition),
		},
	}, nil
}

// Delete removes the object; S3 reports success for a missing key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage: s3 delete: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.key(key)})
	if err != nil {
		if err := s.fail("delete", key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// List pages through ListObjectsV2. Listings carry no headers, so the
// objects' Meta is empty.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("storage: s3 list: %w", err)
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.cfg.Bucket),
		Prefix: aws.String(s.cfg.Prefix + prefix),
	})
	var out []Object
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.cfg.Prefix)
			if ValidKey(k) != nil {
				continue // a directory marker or a key this store cannot address
			}
			out = append(out, Object{
				Key:      k,
				Size:     aws.ToInt64(o.Size),
				Modified: aws.ToTime(o.LastModified),
				ETag:     aws.ToString(o.ETag),
			})
		}
	}
	// S3 lists in byte order; some compatible servers walk directories
	// instead.
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// permanentCodes are S3 error codes that retrying cannot fix.
var permanentCodes = map[string]string{
	"AccessDenied":                 "access denied: check the credentials and the bucket's policy",
	"AllAccessDisabled":            "access to the bucket is disabled",
	"InvalidAccessKeyId":           "unknown access key: check the credentials",
	"XAdminUserNotFound":           "unknown access key: check the credentials", // versitygw
	"SignatureDoesNotMatch":        "signature rejected: check the secret key",
	"AuthorizationHeaderMalformed": "authorization rejected: check the region (S3_REGION)",
	"PermanentRedirect":            "the bucket is in another region or needs another endpoint: check S3_REGION and S3_ENDPOINT",
	"InvalidBucketName":            "invalid bucket name: check S3_BUCKET",
	"NoSuchBucket":                 "the bucket does not exist: create it or fix S3_BUCKET",
}

// fail turns an SDK error into one that names the operation, the key, the
// bucket and the endpoint, mapping missing keys to ErrNotFound and errors
// retrying cannot fix to permanent ones.
func (s *S3) fail(op, key string, err error) error {
	err = redact.Error(err, s.cfg.Endpoint) // the SDK's errors may repeat the endpoint
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("storage: s3 %s %q: %w", op, key, ErrNotFound)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if ae.ErrorCode() == "NoSuchKey" {
			return fmt.Errorf("storage: s3 %s %q: %w", op, key, ErrNotFound)
		}
		if why, ok := permanentCodes[ae.ErrorCode()]; ok {
			return permanent(fmt.Errorf("storage: s3 %s %q in %s: %s: %w", op, key, s.where, why, err))
		}
	}
	// A HEAD response has no body to carry an error code, and some
	// servers use codes of their own; the status still tells.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusForbidden || re.HTTPStatusCode() == http.StatusUnauthorized) {
		return permanent(fmt.Errorf("storage: s3 %s %q in %s: %s: %w", op, key, s.where, permanentCodes["AccessDenied"], err))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("storage: s3 %s %q in %s: %w", op, key, s.where, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("storage: s3 %s %q: cannot reach %s: %w", op, key, s.where, err)
	}
	return fmt.Errorf("storage: s3 %s %q in %s: %w", op, key, s.where, err)
}
