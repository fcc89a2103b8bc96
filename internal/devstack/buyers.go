package devstack

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/xhspay/xhspay/client"
)

// Resident ID numbers (GB 11643): weights of the first 17 digits and the check
// characters by the weighted sum modulo 11.
var (
	idWeights    = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheckChars = "10X98765432"
	// idRegions are real prefecture-level region codes (Beijing Chaoyang,
	// Shanghai Pudong, Guangzhou Tianhe, Hangzhou Xihu, Chengdu Wuhou, ...).
	idRegions = []string{"110105", "310115", "440106", "330106", "510107", "420106", "320102", "370102"}
	// buyerNames are the demo buyers' real names.
	buyerNames = []string{"王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄婷", "周杰", "吴霞", "徐磊", "孙丽", "马超", "朱琳", "胡军", "郭蕾"}
)

// randIntn returns a uniform random integer in [0, n).
func randIntn(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(fmt.Sprintf("devstack: random source failed: %v", err)) // crypto/rand never fails on supported platforms
	}
	return int(v.Int64())
}

// NewIDNumber returns a random, well-formed 18-character resident ID number
// (known region, birth date between 1960 and 2004, valid check character).
// Every call gives, with overwhelming likelihood, a new person, so demo
// orders never add up against one buyer's annual CBEC limit.
func NewIDNumber() string {
	birth := time.Date(1960, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, randIntn(45*365))
	body := fmt.Sprintf("%s%s%03d", idRegions[randIntn(len(idRegions))], birth.Format("20060102"), randIntn(1000))
	return body + string(idCheckChar(body))
}

// idCheckChar returns the GB 11643 check character of 17 digits.
func idCheckChar(body string) byte {
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// NewBuyer returns a random demo buyer: a real name, a new ID number and a
// mainland mobile number.
func NewBuyer() client.Buyer {
	return client.Buyer{
		Name:     buyerNames[randIntn(len(buyerNames))],
		IDNumber: NewIDNumber(),
		Phone:    fmt.Sprintf("13%d%08d", 5+randIntn(5), randIntn(100_000_000)),
	}
}
