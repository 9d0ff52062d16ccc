// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// route is one of FlagSync's server track routes.
type route string

const (
	routeImpressions route = "impressions"
	routeEvents      route = "events"
)

// resultKind is what an answer from FlagSync means for the batch sent.
type resultKind uint8

const (
	resultDelivered resultKind = iota
	// Try again later: network errors, 408, 429, 5xx.
	resultRetryable
	// A setting is wrong (401/403: the key; 404, 405, redirects: the endpoint): keep the data.
	resultConfig
	// 413: send smaller batches.
	resultTooLarge
	// Any other 4xx: FlagSync refuses these items; sending them again will not change that.
	resultInvalid
)

type postResult struct {
	kind   resultKind
	status int
	// From Retry-After, capped at max_retry_after; 0 when absent.
	retryAfter time.Duration
	// No answer after the request may have reached FlagSync (timeout, connection lost, 504): it
	// may have stored the batch.
	unconfirmed bool
	// For logs and errors; never holds the SDK key.
	message string
}

// version is this component's version, sent as sdkContext.sdkVersion (kept equal to the
// TypeScript package's by test/unit/version.test.ts).
const version = "0.1.0"

// maxErrorBody is the longest error body read from FlagSync, to quote its message.
const maxErrorBody = 16 << 10

type flagsyncClient struct {
	// http has no timeout of its own: each request gets timeout's.
	http          *http.Client
	timeout       *requestTimeout
	baseURL       string
	sdkKey        string
	maxRetryAfter time.Duration
}

// requestBody is a FlagSync server batch: `{"<route>":[items],"sdkContext":{...}}`.
func requestBody(r route, items [][]byte) []byte {
	size := 64
	for _, item := range items {
		size += len(item) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"`...)
	b = append(b, r...)
	b = append(b, `":[`...)
	for i, item := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	b = append(b, `],"sdkContext":{"sdkName":"flagsync-otel","sdkVersion":"`+version+`"}}`...)
	return b
}

func (c *flagsyncClient) post(ctx context.Context, r route, body []byte) postResult {
	timeout := c.timeout.get()
	requestCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	started := time.Now()
	result := c.do(requestCtx, r, body)
	switch {
	case ctx.Err() == nil && errors.Is(requestCtx.Err(), context.DeadlineExceeded) && result.kind == resultRetryable && result.status == 0:
		c.timeout.timedOut()
		result.message += fmt.Sprintf(" (timeout %s; the next attempt waits longer)", timeout)
	case result.status != 0:
		c.timeout.answered(time.Since(started))
	}
	return result
}

func (c *flagsyncClient) do(ctx context.Context, r route, body []byte) postResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/track/"+string(r)+"/server", bytes.NewReader(body))
	if err != nil {
		return postResult{kind: resultConfig, message: c.redact("cannot build the request to FlagSync: " + err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ridgeline-key", c.sdkKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return postResult{kind: resultRetryable, unconfirmed: !neverSent(err), message: c.redact("request to FlagSync failed: " + err.Error())}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return postResult{kind: resultDelivered, status: resp.StatusCode}
	}
	text, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	result := postResult{status: resp.StatusCode, message: c.redact(describeAnswer(resp.StatusCode, text))}
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		result.kind = resultRetryable
		result.retryAfter = c.retryAfter(resp.Header.Get("Retry-After"))
		// A gateway gave up waiting for FlagSync, which may still have stored the batch.
		result.unconfirmed = code == http.StatusGatewayTimeout
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		result.kind = resultConfig
		result.message += "; check sdk_key"
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed || (code >= 300 && code < 400):
		result.kind = resultConfig
		result.message += "; check endpoint (FlagSync's base URL, e.g. https://sdk.flagsync.com)"
	case code == http.StatusRequestEntityTooLarge:
		result.kind = resultTooLarge
	default:
		result.kind = resultInvalid
	}
	return result
}

// retryAfter reads seconds or an HTTP date, capped at max_retry_after.
func (c *flagsyncClient) retryAfter(header string) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	var d time.Duration
	if seconds, err := strconv.ParseInt(header, 10, 64); err == nil {
		if seconds <= 0 {
			return 0
		}
		if seconds > int64(c.maxRetryAfter/time.Second) {
			return c.maxRetryAfter
		}
		d = time.Duration(seconds) * time.Second
	} else if when, err := http.ParseTime(header); err == nil {
		d = time.Until(when)
	}
	return min(max(d, 0), c.maxRetryAfter)
}

func (c *flagsyncClient) redact(text string) string {
	if len(c.sdkKey) >= 4 {
		text = strings.ReplaceAll(text, c.sdkKey, "[REDACTED]")
	}
	return text
}

func describeAnswer(status int, body []byte) string {
	var parsed struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	text := fmt.Sprintf("FlagSync answered %d", status)
	if json.Unmarshal(body, &parsed) == nil {
		if parsed.ErrorCode != "" {
			text += " " + parsed.ErrorCode
		}
		if parsed.Message != "" {
			text += ": " + parsed.Message
		}
	} else if len(body) > 0 {
		text += ": " + string(body[:min(len(body), 200)])
	}
	return text
}

// neverSent is true for failures before a request can reach FlagSync: it cannot have stored anything.
func neverSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	opErr, ok := errors.AsType[*net.OpError](err)
	return ok && opErr.Op == "dial"
}
