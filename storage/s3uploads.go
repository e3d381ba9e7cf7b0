package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// AbortStaleUploads aborts the store's multipart uploads started more than
// olderThan ago and returns how many it aborted. A Put aborts its own
// upload when it fails, but cannot while the server is unreachable; the
// parts of such an upload are invisible to readers yet still stored (and
// billed). A bucket lifecycle rule that aborts incomplete multipart uploads
// does the same job on servers that support one. Choose olderThan well above
// the longest upload, since an upload in progress looks the same.
func (s *S3) AbortStaleUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(s.cfg.Prefix)}
	aborted := 0
	var errs []error
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return aborted, s.fail("list uploads", s.cfg.Prefix, err)
		}
		for _, u := range out.Uploads {
			if u.Initiated != nil && u.Initiated.After(cutoff) {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(s.cfg.Bucket), Key: u.Key, UploadId: u.UploadId,
			})
			if err != nil {
				errs = append(errs, s.fail("abort upload", aws.ToString(u.Key), err))
				continue
			}
			aborted++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		if in.KeyMarker == nil && in.UploadIdMarker == nil {
			return aborted, errors.Join(append(errs, fmt.Errorf("storage: s3 list uploads: truncated listing without a marker"))...)
		}
	}
	return aborted, errors.Join(errs...)
}
