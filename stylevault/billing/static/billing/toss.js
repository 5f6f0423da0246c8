// Toss Payments' payment widget (SDK v2 "standard") for one StyleVault order. The amount and
// the order id come from the server; only the server's confirm call takes the money.
document.addEventListener("DOMContentLoaded", async () => {
  const box = document.getElementById("toss-checkout");
  if (!box || typeof TossPayments === "undefined") return;
  const data = box.dataset;
  const widgets = TossPayments(data.clientKey).widgets({ customerKey: data.customerKey });
  await widgets.setAmount({ currency: data.currency, value: Number(data.amount) });
  await widgets.renderPaymentMethods({ selector: "#payment-method", variantKey: "DEFAULT" });
  await widgets.renderAgreement({ selector: "#agreement", variantKey: "AGREEMENT" });
  const button = document.getElementById("toss-pay");
  button.disabled = false;
  button.addEventListener("click", () =>
    widgets.requestPayment({
      orderId: data.orderId,
      orderName: data.orderName,
      successUrl: data.successUrl,
      failUrl: data.failUrl,
    }),
  );
});
