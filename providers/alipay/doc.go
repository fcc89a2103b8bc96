// Package alipay is the Alipay adapter: it implements providers.PaymentProvider,
// providers.EscrowHolder and providers.CustomsDeclarer on Alipay's open
// platform through the unmodified smartwalle/alipay/v3 SDK, in public-key or
// certificate mode.
//
// Mapping to Alipay's APIs:
//
//   - CreatePayment: SceneQR is alipay.trade.precreate (the answer's qr_code);
//     ScenePage is the signed alipay.trade.page.pay URL on the gateway. Amounts
//     leave as yuan text only after Amount.MinorUnits succeeds; ExpireAt is
//     time_expire in China time; Huabei instalments are extend_params.hb_fq_num
//     (3, 6, 12) and hb_fq_seller_percent (0 buyer, 100 seller); Payer becomes
//     ext_user_info with need_check_info=T, so that only the buyer can pay;
//     Hold adds settle_info (delayed settlement, see HoldFunds).
//   - QueryPayment: alipay.trade.query; ACQ.TRADE_NOT_EXIST is PaymentNotFound.
//   - ClosePayment: alipay.trade.close; an unknown trade (a QR code nobody
//     scanned) or a closed one is success, a paid one ErrTypeTradePaid.
//   - Refund / QueryRefund: alipay.trade.refund (out_request_no = OutRefundNo,
//     synchronous) and alipay.trade.fastpay.refund.query.
//   - HoldFunds / ReleaseFunds: delayed settlement. HoldFunds checks with
//     alipay.trade.query (query_options trade_settle_info) that the paid funds
//     are on_settle; ReleaseFunds is alipay.trade.settle.confirm.
//   - Declare / Redeclare / QueryDeclaration: alipay.trade.customs.declare
//     (the same call with the same out_request_no re-pushes corrected data) and
//     alipay.trade.customs.query, through the SDK's generic Request path.
//     CancelDeclaration calls alipay.trade.customs.cancel, which only the
//     project's sandbox offers; Alipay answers isv.invalid-method (ErrTypeNotSupported).
//   - ParseNotification: the form body is verified by the SDK's
//     DecodeNotification (RSA2, locally); notify_id is the notification ID.
//
// Every failure is a *providers.Error with Provider "alipay": signed business
// failures by sub_code and code, unsigned gateway errors likewise, signature
// failures as ErrTypeSignature, and transport errors, 5xx bodies and unknown
// codes as ErrTypeUnavailable.
package alipay
