# お客様へのメール（サーバーのみ）。$merchant は販売者の事業者名。
email-from-name = { $merchant }（Paylinks）
email-receipt-subject = 【{ $merchant }】お支払いの領収書
email-receipt-intro = { $merchant } へのお支払いありがとうございます。領収書をお送りします。
email-konbini-subject = 【{ $merchant }】コンビニでのお支払い方法
email-konbini-intro = { $deadline } までに { $store } で、下記の払込番号でお支払いください。お支払いの確認後にご注文が確定します。
email-konbini-how = 店頭でお支払いの旨をお伝えいただくか店内の端末で、払込番号を入力してください。期限までにお支払いがない場合、払込番号は無効になり、料金は発生しません。
email-refund-subject = 【{ $merchant }】返金のお知らせ
email-refund-intro-full = { $merchant } がお支払いの全額を返金しました。
email-refund-intro-partial = { $merchant } がお支払いのうち { $amount } を返金しました。
email-refund-timing = カード会社によっては、ご利用明細に反映されるまで数日かかる場合があります。
email-field-product = 商品
email-field-amount = 金額
email-field-paid = お支払い金額
email-field-refunded = 返金額
email-field-date = 日時
email-field-method = お支払い方法
email-field-payment-id = 決済ID
email-field-store = コンビニ
email-field-konbini-number = 払込番号
email-field-deadline = お支払い期限
email-seller-info = 特定商取引法に基づく表記
email-footer = このメールは { $merchant } に代わって Paylinks が送信しています。ご購入に関するお問い合わせは、上記の販売者情報の連絡先までお願いします。

# アカウント保有者へのメール（Paylinks から送信）
email-verify-subject = 【Paylinks】メールアドレスの確認
email-verify-intro = Paylinks へようこそ。このメールアドレスがお客様のものであることをご確認ください。アカウント、パスワード、決済に関するお知らせに使用します。
email-verify-action = メールアドレスを確認する
email-verify-ttl = リンクの有効期限は7日間です。確認が済むと本番利用申請ができるようになります。
email-verify-ignore = Paylinks に登録した覚えがない場合は、このメールを破棄してください。リンクを開かない限り何も起こりません。
email-reset-subject = 【Paylinks】パスワードの再設定
email-reset-intro = このメールアドレスの Paylinks アカウントについて、パスワードの再設定が申請されました。
email-reset-action = 新しいパスワードを設定する
email-reset-ttl = リンクは1時間以内に1回だけ使用できます。新しいパスワードを設定すると、すべての端末でサインアウトされます。
email-reset-ignore = お心当たりがない場合は、このメールを破棄してください。パスワードは変更されません。
email-account-footer = Paylinks · このメールは Paylinks アカウントでの操作に基づいて送信されています。
