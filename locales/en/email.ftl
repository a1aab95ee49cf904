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
email-account-footer = Paylinks · You get this email because of an action on your Paylinks account.
