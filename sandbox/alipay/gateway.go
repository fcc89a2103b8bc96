package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// timestampSkew is how far a request's timestamp may be from the real clock.
const timestampSkew = 15 * time.Minute

// result is the inner object of a gateway response.
type result map[string]any

// apiRequest is a verified gateway request.
type apiRequest struct {
	method   string
	params   url.Values
	biz      map[string]json.RawMessage
	certMode bool
	r        *http.Request
}

// gatewayError is a failure of the public parameters, answered unsigned the
// way Alipay's gateway does before it knows it may trust the caller.
type gatewayError struct {
	code, msg, subCode, subMsg string
}

// subMessages are the sub_msg texts of the business errors the sandbox answers.
var subMessages = map[string]string{
	"ACQ.SYSTEM_ERROR":               "系统错误",
	"aop.ACQ.SYSTEM_ERROR":           "系统繁忙",
	"ACQ.INVALID_PARAMETER":          "参数无效",
	"ACQ.TRADE_NOT_EXIST":            "交易不存在",
	"ACQ.TRADE_HAS_SUCCESS":          "交易已被支付",
	"ACQ.TRADE_HAS_CLOSE":            "交易已经关闭",
	"ACQ.TRADE_HAS_FINISHED":         "交易已经完结",
	"ACQ.TRADE_STATUS_ERROR":         "交易状态不合法",
	"ACQ.CONTEXT_INCONSISTENT":       "交易信息被篡改",
	"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": "退款金额超限",
	"ACQ.DISCORDANT_REPEAT_REQUEST":  "不一致的请求",
	"ACQ.ACCESS_FORBIDDEN":           "无权限使用接口",
	"ACQ.BUYER_BALANCE_NOT_ENOUGH":   "买家余额不足",
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":  "卖家余额不足",
	"ACQ.TRADE_NOT_ALLOW_REFUND":     "当前交易不允许退款",
	"ACQ.CUSTOMS_DECLARE_NOT_EXIST":  "报关记录不存在",
	"isp.bill_not_exist":             "账单不存在",
	"isv.cert-not-exist":             "证书不存在",
}

// codeFor returns the top-level code and msg Alipay pairs with a sub_code; a
// purely numeric BusinessError is taken as the top-level code itself.
func codeFor(sub string) (code, msg, subCode string) {
	switch {
	case sub == "20000" || sub == "40001" || sub == "40002" || sub == "40004" || sub == "40005" || sub == "40006" || sub == "20001" || sub == "40003":
		return sub, topMessages[sub], ""
	case sub == "ACQ.SYSTEM_ERROR" || strings.HasPrefix(sub, "aop.") || strings.HasPrefix(sub, "isp.unknow"):
		return "20000", topMessages["20000"], sub
	case strings.HasPrefix(sub, "isv.missing"):
		return "40001", topMessages["40001"], sub
	case strings.HasPrefix(sub, "isv."):
		return "40002", topMessages["40002"], sub
	case sub == "ACQ.ACCESS_FORBIDDEN":
		return "40006", topMessages["40006"], sub
	default:
		return "40004", topMessages["40004"], sub
	}
}

// topMessages are Alipay's texts for the public response codes.
var topMessages = map[string]string{
	"10000": "Success",
	"20000": "Service Currently Unavailable",
	"20001": "Insufficient Token Permissions",
	"40001": "Missing Required Arguments",
	"40002": "Invalid Arguments",
	"40003": "Insufficient Conditions",
	"40004": "Business Failed",
	"40005": "Call Limited",
	"40006": "Insufficient Permissions",
}

// success returns a 10000 response carrying fields.
func success(fields result) result {
	out := result{"code": "10000", "msg": "Success"}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// failure returns a business-error response for sub_code; extra fields are
// added (Alipay echoes some request fields in errors).
func failure(sub, subMsg string, extra result) result {
	code, msg, subCode := codeFor(sub)
	if subMsg == "" {
		subMsg = subMessages[sub]
	}
	out := result{"code": code, "msg": msg}
	if subCode != "" {
		out["sub_code"] = subCode
		out["sub_msg"] = subMsg
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// invalid returns an ACQ.INVALID_PARAMETER failure explaining which rule broke.
func invalid(format string, args ...any) result {
	return failure("ACQ.INVALID_PARAMETER", fmt.Sprintf(format, args...), nil)
}

// isFailure reports whether a result is an error response.
func isFailure(r result) bool { return r["code"] != "10000" }

// responseKey is the name of a method's response object.
func responseKey(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}

// marshal encodes v exactly once, without HTML escaping, as the bytes that are
// both signed and sent.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeSigned answers a method with a signed response: the inner object's
// exact bytes are signed and embedded unchanged.
func (s *Sandbox) writeSigned(w http.ResponseWriter, method string, body result, certMode bool) {
	inner, err := marshal(body)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	sig, err := rsaSign(s.key, inner)
	if err != nil {
		http.Error(w, "sign response", http.StatusInternalServerError)
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"`)
	out.WriteString(responseKey(method))
	out.WriteString(`":`)
	out.Write(inner)
	if certMode {
		out.WriteString(`,"alipay_cert_sn":"`)
		out.WriteString(s.certSN)
		out.WriteString(`"`)
	}
	out.WriteString(`,"sign":"`)
	out.WriteString(sig)
	out.WriteString(`"}`)
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	_, _ = w.Write(out.Bytes())
}

// writeUnsigned answers a public-parameter failure without a signature, under
// the method's response key (or error_response when the method is unknown).
func (s *Sandbox) writeUnsigned(w http.ResponseWriter, method string, ge *gatewayError) {
	body := result{"code": ge.code, "msg": ge.msg}
	if ge.subCode != "" {
		body["sub_code"] = ge.subCode
		body["sub_msg"] = ge.subMsg
	}
	key := "error_response"
	if method != "" && s.knownMethod(method) {
		key = responseKey(method)
	}
	inner, err := marshal(body)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	_, _ = fmt.Fprintf(w, `{"%s":%s}`, key, inner)
}

func missing(sub string) *gatewayError {
	return &gatewayError{code: "40001", msg: topMessages["40001"], subCode: sub, subMsg: "缺少必选参数"}
}

func invalidArg(sub, subMsg string) *gatewayError {
	return &gatewayError{code: "40002", msg: topMessages["40002"], subCode: sub, subMsg: subMsg}
}

// checkPublic verifies the public request parameters and the signature.
func (s *Sandbox) checkPublic(params url.Values, pageFlow bool) (*apiRequest, *gatewayError) {
	for _, p := range []struct{ name, sub string }{
		{"app_id", "isv.missing-app-id"},
		{"method", "isv.missing-method"},
		{"sign_type", "isv.missing-signature-type"},
		{"sign", "isv.missing-signature"},
		{"timestamp", "isv.missing-timestamp"},
		{"version", "isv.missing-version"},
	} {
		if params.Get(p.name) == "" {
			return nil, missing(p.sub)
		}
	}
	method := params.Get("method")
	if !s.knownMethod(method) {
		return nil, invalidArg("isv.invalid-method", "不存在的方法名")
	}
	if params.Get("app_id") != s.cfg.AppID {
		return nil, invalidArg("isv.invalid-app-id", "无效的AppID参数")
	}
	if f := params.Get("format"); f != "" && !strings.EqualFold(f, "JSON") {
		return nil, invalidArg("isv.invalid-format", "无效的数据格式")
	}
	if c := params.Get("charset"); c != "" && !strings.EqualFold(c, "utf-8") {
		return nil, invalidArg("isv.invalid-charset", "字符集错误: the sandbox accepts charset=utf-8 only")
	}
	if params.Get("version") != "1.0" {
		return nil, invalidArg("isv.invalid-version", "版本号错误")
	}
	if params.Get("encrypt_type") != "" {
		return nil, invalidArg("isv.decryption-error-not-valid-encrypt-type", "无效的加密类型: the sandbox does not support content encryption")
	}
	if params.Get("sign_type") != "RSA2" {
		return nil, invalidArg("isv.invalid-signature-type", "无效的签名类型: only RSA2 is accepted")
	}
	ts, err := time.ParseInLocation(wireTime, params.Get("timestamp"), cst)
	if err != nil {
		return nil, invalidArg("isv.invalid-timestamp", "非法的时间戳参数: want yyyy-MM-dd HH:mm:ss")
	}
	skew := time.Since(ts)
	if skew > timestampSkew && !pageFlow || skew < -timestampSkew {
		return nil, invalidArg("isv.invalid-timestamp", fmt.Sprintf("非法的时间戳参数: %s is more than %s from the gateway clock (timestamps are China time)", params.Get("timestamp"), timestampSkew))
	}
	content, err := signContent(params, "sign")
	if err != nil {
		return nil, invalidArg("isv.invalid-signature", "验签出错: "+err.Error())
	}
	if err := rsaVerify(s.cfg.AppPublicKey, []byte(content), params.Get("sign")); err != nil {
		return nil, invalidArg("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content)
	}
	req := &apiRequest{method: method, params: params, biz: map[string]json.RawMessage{}, certMode: params.Get("app_cert_sn") != ""}
	if bc := params.Get("biz_content"); bc != "" {
		dec := json.NewDecoder(strings.NewReader(bc))
		dec.UseNumber()
		if err := dec.Decode(&req.biz); err != nil {
			return nil, invalidArg("isv.invalid-parameter", "biz_content is not a JSON object: "+err.Error())
		}
	}
	return req, nil
}

// apiHandler handles one gateway method.
type apiHandler func(s *Sandbox, req *apiRequest) result

// apis are the methods answered with a signed JSON response.
var apis = map[string]apiHandler{
	"alipay.trade.precreate":                         (*Sandbox).apiPrecreate,
	"alipay.trade.query":                             (*Sandbox).apiQuery,
	"alipay.trade.close":                             (*Sandbox).apiClose,
	"alipay.trade.refund":                            (*Sandbox).apiRefund,
	"alipay.trade.fastpay.refund.query":              (*Sandbox).apiRefundQuery,
	"alipay.trade.settle.confirm":                    (*Sandbox).apiSettleConfirm,
	"alipay.trade.customs.declare":                   (*Sandbox).apiCustomsDeclare,
	"alipay.trade.customs.query":                     (*Sandbox).apiCustomsQuery,
	"alipay.trade.customs.cancel":                    (*Sandbox).apiCustomsCancel,
	"alipay.data.dataservice.bill.downloadurl.query": (*Sandbox).apiBillURL,
	"alipay.open.app.alipaycert.download":            (*Sandbox).apiCertDownload,
}

// pageMethods are the methods answered with the cashier page.
var pageMethods = map[string]string{
	"alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
	"alipay.trade.wap.pay":  "QUICK_WAP_WAY",
}

func (s *Sandbox) knownMethod(m string) bool {
	_, api := apis[m]
	_, page := pageMethods[m]
	return api || page
}

// serveGateway is /gateway.do.
func (s *Sandbox) serveGateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.writeUnsigned(w, "", invalidArg("isv.invalid-parameter", "cannot parse the request form: "+err.Error()))
		return
	}
	method := r.Form.Get("method")
	rule, handled := s.cfg.Faults.Intercept(method, w, r)
	if handled {
		s.log.Info("fault injected", "method", method, "status", rule.Status, "timeout", rule.Timeout)
		return
	}
	_, page := pageMethods[method]
	req, gerr := s.checkPublic(r.Form, page)
	if gerr != nil {
		s.log.Warn("gateway refused request", "method", method, "sub_code", gerr.subCode)
		if page && gerr.subCode != "isv.invalid-method" {
			s.renderError(w, http.StatusOK, gerr.code, gerr.subCode, gerr.subMsg)
			return
		}
		s.writeUnsigned(w, method, gerr)
		return
	}
	req.r = r
	if rule.BusinessError != "" {
		s.log.Info("business error injected", "method", method, "error", rule.BusinessError)
		if page {
			code, _, sub := codeFor(rule.BusinessError)
			s.renderError(w, http.StatusOK, code, sub, subMessages[rule.BusinessError])
			return
		}
		s.writeSigned(w, method, failure(rule.BusinessError, "", nil), req.certMode)
		return
	}
	if page {
		s.servePagePay(w, req)
		return
	}
	res := apis[method](s, req)
	s.log.Debug("gateway answered", "method", method, "code", res["code"], "sub_code", res["sub_code"])
	s.writeSigned(w, method, res, req.certMode)
}

// bizString reads a biz_content field as text; JSON numbers keep their literal text.
func (req *apiRequest) bizString(key string) (string, error) {
	raw, ok := req.biz[key]
	if !ok {
		return "", nil
	}
	return rawString(raw, key)
}

// rawString reads a JSON string or number as text.
func rawString(raw json.RawMessage, key string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("%s must be a string or a number", key)
	}
	return n.String(), nil
}

// bizObject reads a biz_content field that is a JSON object (or a JSON string holding one).
func (req *apiRequest) bizObject(key string) (map[string]json.RawMessage, error) {
	raw, ok := req.biz[key]
	if !ok {
		return nil, nil
	}
	return rawObject(raw, key)
}

// rawObject decodes a JSON object, or a string containing one.
func rawObject(raw json.RawMessage, key string) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		raw = []byte(s)
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s must be a JSON object: %w", key, err)
	}
	return m, nil
}

// fieldString reads a string field of a decoded object.
func fieldString(m map[string]json.RawMessage, key string) (string, error) {
	if m == nil {
		return "", nil
	}
	raw, ok := m[key]
	if !ok {
		return "", nil
	}
	return rawString(raw, key)
}

// baseURL is the scheme and host the request reached the sandbox on.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
