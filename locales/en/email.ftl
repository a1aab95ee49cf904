# Emails to customers (server only). $merchant is the seller's business name.
email-from-name = { $merchant } via Paylinks
email-receipt-subject = Your receipt from { $merchant }
email-receipt-intro = Thank you for your payment to { $merchant }. This is your receipt.
email-konbini-subject = How to pay at the convenience store — { $merchant }
email-konbini-intro = Pay at { $store } by { $deadline } with the payment number below. Your order is confirmed once you have paid.
email-konbini-how = At the store, tell the staff you want to make a payment (or use the store's terminal) and give the payment number. If you do not pay by the deadline, the payment number expires and nothing is charged.
email-refund-subject = Refund from { $merchant }
email-refund-intro-full = { $merchant } has refunded your payment in full.
email-refund-intro-partial = { $merchant } has refunded { $amount } of your payment.
email-refund-timing = Depending on your card issuer, the refund can take a few days to appear on your statement.
email-field-product = Product
email-field-amount = Amount
email-field-paid = Amount paid
email-field-refunded = Refunded
email-field-date = Date
email-field-method = Paid with
email-field-payment-id = Payment ID
email-field-store = Convenience store
email-field-konbini-number = Payment number
email-field-deadline = Pay by
email-seller-info = Seller information (Specified Commercial Transactions Act)
email-footer = Paylinks sent this email on behalf of { $merchant }. For questions about your purchase, contact the seller using the information above.

# Emails to account holders, sent by Paylinks itself.
email-verify-subject = Confirm your email address for Paylinks
email-verify-intro = Welcome to Paylinks. Please confirm that this is your email address: we use it for your account, your password and notices about your payments.
email-verify-action = Confirm my email address
email-verify-ttl = The link works for 7 days. Once your address is confirmed you can apply for live mode.
email-verify-ignore = If you did not sign up for Paylinks, ignore this email: nothing happens without the link.
email-reset-subject = Reset your Paylinks password
email-reset-intro = Someone (hopefully you) asked to reset the password of the Paylinks account with this email address.
email-reset-action = Choose a new password
email-reset-ttl = The link works once, within 1 hour. Setting a new password signs you out everywhere.
email-reset-ignore = If you did not ask for this, ignore this email: your password stays as it is.
email-change-confirm-subject = Confirm your new email address for Paylinks
email-change-confirm-intro = You asked to use this address for your Paylinks account. Confirm it to make the change; until then, keep signing in with your current address.
email-change-confirm-action = Use this address for my account
email-change-confirm-ttl = The link works once, within 24 hours.
email-change-confirm-ignore = If you did not ask for this, ignore this email: nothing changes without the link.
email-change-requested-subject = Your Paylinks email address is about to change
email-change-requested-intro = Someone signed in to your Paylinks account asked to change its email address to { $address }. It changes only when the link sent to that address is opened.
email-change-requested-action = This was not me: cancel the change
email-change-requested-ttl = Cancelling signs out every session of your account. Then choose a new password: whoever asked knew the current one.
email-change-requested-ignore = If it was you, there is nothing to do here.
email-changed-subject = Your Paylinks email address was changed
email-changed-intro = The email address of your Paylinks account is now { $address }. Sign in with it from now on; notices go there too.
email-changed-ignore = If you did not make this change, contact the operator of this Paylinks service at once.
email-account-footer = Paylinks · You get this email because of an action on your Paylinks account.

# Notifications to merchants
notify-test-prefix = [Test]
notify-captured-subject = Payment received: { $amount } for { $product }
notify-captured-intro = You received a payment of { $amount } for { $product }.
notify-chargeback-subject = Chargeback: { $amount } for { $product }
notify-chargeback-intro = A customer's card issuer took back a payment of { $amount } for { $product }. The amount is deducted from your sales.
notify-chargeback-next = Check the payment in your dashboard and keep your records of the order (delivery, messages with the customer): KOMOJU may ask for them to contest the chargeback.
notify-field-method = Payment method
notify-field-customer = Customer email
notify-field-reason = Reviewer's note
notify-open-payment = Open the payment in your dashboard
notify-open-dashboard = Open your transactions
notify-approved-subject = Your Paylinks account is approved for live mode
notify-approved-intro = Good news: your application was approved. You can now switch your dashboard to live mode, add your KOMOJU keys and take real payments.
notify-approved-action = Open your dashboard
notify-rejected-subject = Your live-mode application needs changes
notify-rejected-intro = Your application for live mode was not approved yet. Please read the reviewer's note, update your application and submit it again.
notify-rejected-action = Update your application
notify-webhook-off-subject = Webhook endpoint turned off: { $url }
notify-webhook-off-intro = Every delivery to one of your webhook endpoints failed for 24 hours, so Paylinks turned it off. New events are not sent to it until you turn it back on; the ones that were waiting are kept and sent then.
notify-field-endpoint = Endpoint
notify-field-last-answer = Last answer
notify-webhook-off-action = Fix it in Settings › Webhooks
notify-summary-subject = Your sales on { $date }
notify-summary-intro = Here is what happened with your payment links yesterday.
notify-summary-captured = Captured
notify-summary-refunded = Refunded
notify-summary-value = { $count ->
    [one] 1 payment, { $amount }
   *[other] { $count } payments, { $amount }
}
notify-summary-quiet = No payments were captured or refunded.
notify-mode-live = Live
notify-mode-test = Test
notify-footer = Paylinks · You get this email because you sell with Paylinks.
notify-footer-link = Paylinks · You get an email for each payment of this link. Stop for this link: { $url } — or choose in Settings › Email notifications.
notify-footer-summary = Paylinks · You get a daily summary of your sales. Stop: { $url } — or choose in Settings › Email notifications.
