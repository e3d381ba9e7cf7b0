package storage

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Put uploads the object in one PutObject request when it fits in one part
// and as a multipart upload otherwise. Either way S3 makes the new object
// visible only when the upload completes, so a failed Put leaves the old
// object intact; a failed multipart upload is aborted. Every request body
// carries its Content-MD5, so a part corrupted in transit is rejected
// rather than stored, and a retried request resends the same bytes.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, meta Meta) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage: s3 put: %w", err)
	}
	if err := validMeta(meta); err != nil {
		return fmt.Errorf("storage: s3 put %q: %w", key, err)
	}
	meta = withDefaults(key, meta)
	partSize := s.cfg.PartSize
	if size >= 0 {
		// Grow the parts of a huge object to stay within S3's part count.
		if need := (size + maxParts - 1) / maxParts; need > partSize {
			partSize = need
		}
		// One byte past size is enough to notice a longer body.
		r = io.LimitReader(r, size+1)
	}
	br := bufio.NewReader(ctxReader{ctx, r})
	bufLen := partSize
	if size >= 0 && size+1 < bufLen {
		bufLen = size + 1
	}
	buf := make([]byte, bufLen)
	n, more, err := fill(br, buf)
	if err != nil {
		return fmt.Errorf("storage: s3 put %q: read body: %w", key, err)
	}
	if !more && int64(n) <= partSize {
		if size >= 0 && int64(n) != size {
			return fmt.Errorf("storage: s3 put %q: %w: declared %d bytes, read %d", key, ErrSizeMismatch, size, n)
		}
		return s.putSingle(ctx, key, buf[:n], meta)
	}
	if len(buf) < int(partSize) {
		buf = append(buf, make([]byte, int(partSize)-len(buf))...)
	}
	return s.putMultipart(ctx, key, br, buf, n, more, size, meta)
}

// fill reads into buf until it is full or r ends, and reports whether r
// holds more bytes after those read.
func fill(br *bufio.Reader, buf []byte) (n int, more bool, err error) {
	n, err = io.ReadFull(br, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return n, false, nil
	case err != nil:
		return n, false, err
	}
	if _, err := br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return n, false, nil
		}
		return n, false, err
	}
	return n, true, nil
}

func contentMD5(b []byte) *string {
	sum := md5.Sum(b)
	return aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}

func (s *S3) putSingle(ctx context.Context, key string, body []byte, meta Meta) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:             aws.String(s.cfg.Bucket),
		Key:                s.key(key),
		Body:               bytes.NewReader(body),
		ContentLength:      aws.Int64(int64(len(body))),
		ContentMD5:         contentMD5(body),
		ContentType:        aws.String(meta.ContentType),
		CacheControl:       nonEmpty(meta.CacheControl),
		ContentDisposition: nonEmpty(meta.ContentDisposition),
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

func nonEmpty(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// putMultipart uploads buf[:n] as part 1, then reads and uploads the rest
// of br one part at a time, reusing buf. Parts go up in sequence: one part
// of memory per Put, and the order of bytes read is the order uploaded.
func (s *S3) putMultipart(ctx context.Context, key string, br *bufio.Reader, buf []byte, n int, more bool, size int64, meta Meta) (err error) {
	var algo types.ChecksumAlgorithm
	if s.cfg.Checksum == ChecksumWhenSupported {
		algo = types.ChecksumAlgorithmCrc32
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:             aws.String(s.cfg.Bucket),
		Key:                s.key(key),
		ContentType:        aws.String(meta.ContentType),
		CacheControl:       nonEmpty(meta.CacheControl),
		ContentDisposition: nonEmpty(meta.ContentDisposition),
		ChecksumAlgorithm:  algo,
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	uploadID := created.UploadId
	defer func() {
		if err == nil {
			return
		}
		// The caller's context may be what ended the upload; the abort
		// still deserves its own bounded attempt.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ConnectTimeout+s.cfg.ResponseTimeout)
		defer cancel()
		_, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.cfg.Bucket), Key: s.key(key), UploadId: uploadID,
		})
		if aerr != nil {
			err = errors.Join(err, fmt.Errorf("storage: s3 put %q: abort the incomplete upload (a lifecycle rule aborting incomplete multipart uploads will remove it): %w", key, aerr))
		}
	}()

	var parts []types.CompletedPart
	total := int64(0)
	for num := int32(1); ; num++ {
		part := buf[:n]
		total += int64(n)
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:            aws.String(s.cfg.Bucket),
			Key:               s.key(key),
			UploadId:          uploadID,
			PartNumber:        aws.Int32(num),
			Body:              bytes.NewReader(part),
			ContentLength:     aws.Int64(int64(n)),
			ContentMD5:        contentMD5(part),
			ChecksumAlgorithm: algo,
		})
		if err != nil {
			return s.fail(fmt.Sprintf("put (part %d)", num), key, err)
		}
		parts = append(parts, types.CompletedPart{
			PartNumber:    aws.Int32(num),
			ETag:          out.ETag,
			ChecksumCRC32: out.ChecksumCRC32,
		})
		if !more {
			break
		}
		if num == maxParts {
			return fmt.Errorf("storage: s3 put %q: more than %d parts of %d bytes: raise the part size", key, maxParts, len(buf))
		}
		if n, more, err = fill(br, buf); err != nil {
			return fmt.Errorf("storage: s3 put %q: read body: %w", key, err)
		}
		if n == 0 {
			break
		}
	}
	if size >= 0 && total != size {
		return fmt.Errorf("storage: s3 put %q: %w: declared %d bytes, read %d", key, ErrSizeMismatch, size, total)
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.cfg.Bucket),
		Key:             s.key(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return s.fail("put (complete)", key, err)
	}
	return nil
}
