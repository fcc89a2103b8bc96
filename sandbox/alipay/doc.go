// Package alipay is an Alipay open-platform gateway emulator for tests and the
// demo. It speaks Alipay's wire protocol with its own signing code, so that an
// unmodified SDK (and the project's adapter) can be pointed at it:
//
//   - Requests arrive at /gateway.do as a form POST (or a GET query for page
//     and mobile-site pay). The gateway checks app_id, method, charset (utf-8),
//     format (JSON), version (1.0), sign_type (RSA2), the timestamp (China time,
//     within 15 minutes of the real clock; page-pay URLs may be older) and the
//     RSA2 signature: SHA256withRSA, PKCS #1 v1.5, standard base64, over every
//     non-empty parameter except sign, as raw key=value pairs sorted by key and
//     joined by "&" (sign_type is included). Failures of these public
//     parameters are answered unsigned, as Alipay does: code 40001/40002 with
//     sub_codes such as isv.invalid-signature (whose sub_msg shows the string the
//     gateway verified), isv.invalid-app-id, isv.invalid-timestamp, and
//     isv.invalid-method under error_response.
//   - Every other answer is {"<method_with_underscores>_response":{...},"sign":"..."},
//     the signature covering the inner object's exact bytes (encoded once,
//     without HTML escaping). In certificate mode (the request carries
//     app_cert_sn) the answer also names alipay_cert_sn; GatewayCertPEM and
//     RootCertPEM are the certificates, and alipay.open.app.alipaycert.download
//     serves the gateway certificate. Business failures are signed: code 40004
//     (20000 for system errors) with an ACQ.* sub_code.
//
// Methods: alipay.trade.precreate, alipay.trade.page.pay, alipay.trade.wap.pay,
// alipay.trade.query, alipay.trade.close, alipay.trade.refund,
// alipay.trade.fastpay.refund.query, alipay.trade.settle.confirm,
// alipay.trade.customs.declare, alipay.trade.customs.query,
// alipay.data.dataservice.bill.downloadurl.query and
// alipay.open.app.alipaycert.download, plus alipay.trade.customs.cancel, an
// extension: Alipay offers no way to withdraw a payment declaration.
//
// Trades follow Alipay's state machine: WAIT_BUYER_PAY, then TRADE_SUCCESS when
// the scripted buyer pays (Pay, or POST /sandbox/pay), TRADE_CLOSED when closed
// unpaid, expired (time_expire / timeout_express, applied on the next access)
// or fully refunded, and TRADE_FINISHED when the refund period ends. As at
// Alipay, a precreated trade is unknown to query and close (ACQ.TRADE_NOT_EXIST)
// until the buyer scans its QR code (GET of the qr_code URL) and a page-pay
// trade exists once its cashier is opened; an unscanned QR code stays payable
// until it expires even if "closed". Creating the same out_trade_no again
// answers the same; with another amount it fails with ACQ.CONTEXT_INCONSISTENT.
// Refunds are synchronous, partial and cumulative up to the total
// (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL beyond it); repeating out_request_no repeats
// the answer with fund_change N, and with another amount fails with
// ACQ.DISCORDANT_REPEAT_REQUEST.
//
// Escrow is delayed settlement: a trade created with settle_info keeps its paid
// funds "on_settle" (visible in alipay.trade.query with query_options
// ["trade_settle_info"]) until alipay.trade.settle.confirm releases the amount
// still held (total less refunds) or settle_period_time passes.
//
// Huabei: extend_params.hb_fq_num (3, 6, 12) and hb_fq_seller_percent (0, 100)
// are validated; the buyer paying with method "huabei" uses them, and query and
// notifications report fund channel PCREDIT and hb_fq_pay_info. With
// ext_user_info need_check_info=T, a scripted payer of another identity is refused.
//
// Asynchronous notifications (trade_status_sync) are form POSTs to the trade's
// notify_url, signed RSA2 over every non-empty field except sign, sign_type and
// alipay_cert_sn, carrying notify_id (stable across retries), notify_time,
// trade_status, out_trade_no, trade_no, total_amount, buyer_logon_id,
// gmt_payment and, for refunds, out_biz_no (the refund's out_request_no),
// refund_fee (cumulative), send_back_fee (this refund) and gmt_refund. They
// are sent on payment, close, expiry, refund and finish, through the fault
// injector's Deliver, and retried on Config.NotifyRetryDelays until the
// receiver answers HTTP 200 with exactly "success".
//
// Customs: a successful declare (and every re-push or correction with the
// same out_request_no) forwards a customs.PaymentRecord to Config.Customs; the
// order number is out_trade_no, or sub_out_biz_no when is_split=T. The payer
// is the identity Alipay knows (ext_user_info or the scripted payer);
// identity_check compares it with buyer_info on the first push. Cancel
// forwards the record with Cancelled set.
//
// Bills: alipay.data.dataservice.bill.downloadurl.query (bill_type "trade",
// bill_date yyyy-MM-dd or yyyy-MM, available once the period is over on the
// sandbox clock, else isp.bill_not_exist) returns a /bill/download URL valid
// for 30 seconds. The zip holds "<account>_<date>_业务明细.csv" and
// "<account>_<date>_业务明细(汇总).csv", GBK-encoded with CRLF line ends: "#"
// comment lines (title, account, period; footer totals and export time)
// around a CSV table whose header row is 支付宝交易号, 商户订单号, 业务类型 (交易 or
// 退款), 商品名称, 创建时间, 完成时间, 门店编号, 门店名称, 操作员, 终端号, 对方账户,
// 订单金额（元）(the trade's total), 商家实收（元）(the money the row moves, negative
// for refunds), 支付宝红包（元）, 集分宝（元）, 支付宝优惠（元）, 商家优惠（元）, 券核销金额（元）,
// 券名称, 商家红包消费金额（元）, 卡消费金额（元）, 退款批次号/请求号, 服务费（元）(0.6%,
// negative on payments, refunded on refunds), 分润（元）, 备注. Every field is
// followed by a tab, as in Alipay's files. InjectBillMismatch makes bills
// disagree with the trades for reconciliation tests.
//
// Faults: every endpoint goes through Config.Faults.Intercept, named by the
// gateway method ("alipay.trade.query", ...), "cashier" (the QR page),
// "sandbox.pay" and "bill.download". A rule's BusinessError is answered as a
// signed Alipay error of that method ("ACQ.SYSTEM_ERROR" as code 20000, other
// ACQ.* as 40004, isv.* as 40001/40002, a bare number as that code).
package alipay
