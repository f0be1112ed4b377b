// The Go snippet of docs/signed-identify.md, checked against its vectors (os.Args[1]: JSON file).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func DropfixSign(sk, userID string, signedAt int64, email, plan string, mrr *int64, trialEnds string) string {
	m := ""
	if mrr != nil {
		m = strconv.FormatInt(*mrr, 10)
	}
	msg := strings.Join([]string{"v1", userID, strconv.FormatInt(signedAt, 10), email, plan, m, trialEnds}, "\n")
	h := hmac.New(sha256.New, []byte(sk))
	h.Write([]byte(msg))
	return hex.EncodeToString(h.Sum(nil))
}

type vector struct {
	Secret    string `json:"secret"`
	UserID    string `json:"user_id"`
	SignedAt  int64  `json:"signed_at"`
	Email     string `json:"email"`
	Plan      string `json:"plan"`
	Mrr       *int64 `json:"mrr"`
	TrialEnds string `json:"trial_ends"`
	Hash      string `json:"hash"`
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		panic(err)
	}
	bad := 0
	for _, v := range vs {
		if DropfixSign(v.Secret, v.UserID, v.SignedAt, v.Email, v.Plan, v.Mrr, v.TrialEnds) != v.Hash {
			bad++
		}
	}
	if bad != 0 || len(vs) == 0 {
		fmt.Printf("go FAILED %d\n", bad)
		os.Exit(1)
	}
	fmt.Printf("go ok %d\n", len(vs))
}
