package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrUploadRefused is what UploadImage returns, wrapped, when the NameNode answers 409: another
// upload is in progress, or it already has an image at least as new. The uploader has nothing
// more to do for that image.
var ErrUploadRefused = errors.New("image upload refused")

// DownloadImage fetches the image stamped txid (the newest when txid < 0) from the NameNode
// whose HTTP address is addr (host:port) into w, and returns the image's txid. A missing image
// gives an error wrapping ErrNoImage. A transfer broken midway is an error; w may then hold a
// partial image, which the caller discards.
func DownloadImage(ctx context.Context, c *http.Client, addr string, txid int64, w io.Writer) (int64, error) {
	q := url.Values{"getimage": {"1"}}
	if txid >= 0 {
		q.Set("txid", strconv.FormatInt(txid, 10))
	}
	u := "http://" + addr + "/imagetransfer?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("web: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("web: downloading image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, statusError("GET", u, resp)
	}
	got, err := strconv.ParseInt(resp.Header.Get(TxIDHeader), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("web: GET %s: bad %s header %q", u, TxIDHeader, resp.Header.Get(TxIDHeader))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, fmt.Errorf("web: GET %s: image %d broken off: %w", u, got, err)
	}
	return got, nil
}

// UploadImage sends the image stamped txid, read from r, to the NameNode whose HTTP address is
// addr. storageInfo, when not empty, is the uploader's storage identity (ImageStore.StorageInfo);
// the NameNode refuses (403) an image of another namespace. A 409 answer gives an error
// wrapping ErrUploadRefused, a 417 (the NameNode is not active) one wrapping ErrNotActive.
//
// The request carries "Expect: 100-continue": when c's transport waits for the go-ahead
// (http.Transport.ExpectContinueTimeout > 0, as NewImageClient's does), a refused upload
// costs no image bytes, and r is closed unread if it is an io.Closer.
func UploadImage(ctx context.Context, c *http.Client, addr string, txid int64, storageInfo string, r io.Reader) error {
	q := url.Values{"txid": {strconv.FormatInt(txid, 10)}}
	if storageInfo != "" {
		q.Set(StorageInfoParam, storageInfo)
	}
	u := "http://" + addr + "/imagetransfer?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, r)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Expect", "100-continue")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("web: uploading image %d: %w", txid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError("PUT", u, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// statusError turns a non-200 answer into an error carrying the server's message.
func statusError(method, u string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(body))
	err := fmt.Errorf("web: %s %s: %s: %s", method, u, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w (%w)", err, ErrNoImage)
	case http.StatusConflict:
		return fmt.Errorf("%w (%w)", err, ErrUploadRefused)
	case http.StatusExpectationFailed:
		return fmt.Errorf("%w (%w)", err, ErrNotActive)
	}
	return err
}

// NewImageClient returns an HTTP client for image transfers: it waits up to a few seconds
// for a server's go-ahead before sending an upload's body (so a refusal costs nothing), and
// bounds only connecting and the response header, never the transfer itself (an image may
// take minutes; the caller's context bounds it). CloseIdleConnections releases it.
func NewImageClient(headerTimeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ExpectContinueTimeout: 5 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr}
}
