package alipay

import "encoding/base64"

// apiCertDownload is alipay.open.app.alipaycert.download: the SDKs call it in
// certificate mode when a response names an alipay_cert_sn they do not hold.
func (s *Sandbox) apiCertDownload(req *apiRequest) result {
	sn, err := req.bizString("alipay_cert_sn")
	if err != nil || sn == "" {
		return invalid("alipay_cert_sn is required")
	}
	if sn != s.certSN {
		return failure("isv.cert-not-exist", "", nil)
	}
	return success(result{"alipay_cert_content": base64.StdEncoding.EncodeToString(s.certPEM)})
}
