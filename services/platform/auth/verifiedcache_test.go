package auth

import (
	"testing"
	"time"
)

func TestVerifiedCacheExpires(t *testing.T) {
	var c verifiedCache
	now := time.Now()
	c.put("tok", Identity{Subject: "s"}, now.Add(time.Minute))
	if id, ok := c.get("tok", now); !ok || id.Subject != "s" {
		t.Fatal("a verified token is not remembered")
	}
	if _, ok := c.get("tok", now.Add(2*time.Minute)); ok {
		t.Fatal("an expired token is still accepted from the cache")
	}
	if _, ok := c.get("other", now); ok {
		t.Fatal("an unknown token is accepted")
	}
}

func TestVerifiedCacheChecksLongLivedTokensAgain(t *testing.T) {
	var c verifiedCache
	now := time.Now()
	c.put("tok", Identity{Subject: "s"}, now.AddDate(1, 0, 0))
	if _, ok := c.get("tok", now.Add(maxVerifiedAge-time.Second)); !ok {
		t.Fatal("a verified token is not remembered")
	}
	if _, ok := c.get("tok", now.Add(maxVerifiedAge+time.Second)); ok {
		t.Fatal("a year-long token is trusted from the cache past maxVerifiedAge: a withdrawn key would go on working")
	}
}
