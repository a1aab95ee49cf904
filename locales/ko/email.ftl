# 고객에게 보내는 이메일(서버 전용). $merchant 는 판매자의 상호.
email-from-name = { $merchant } (Paylinks)
email-receipt-subject = { $merchant } 결제 영수증
email-receipt-intro = { $merchant }에 결제해 주셔서 감사합니다. 영수증을 보내 드립니다.
email-konbini-subject = 편의점 결제 방법 — { $merchant }
email-konbini-intro = { $deadline }까지 { $store }에서 아래 결제 번호로 결제해 주세요. 결제가 확인되면 주문이 확정됩니다.
email-konbini-how = 매장에서 결제하겠다고 말씀하시거나 매장 단말기에서 결제 번호를 입력하세요. 기한까지 결제하지 않으면 결제 번호는 무효가 되며 요금은 청구되지 않습니다.
email-refund-subject = { $merchant } 환불 안내
email-refund-intro-full = { $merchant }에서 결제 금액 전액을 환불했습니다.
email-refund-intro-partial = { $merchant }에서 결제 금액 중 { $amount }을(를) 환불했습니다.
email-refund-timing = 카드사에 따라 명세서에 반영되기까지 며칠이 걸릴 수 있습니다.
email-field-product = 상품
email-field-amount = 금액
email-field-paid = 결제 금액
email-field-refunded = 환불 금액
email-field-date = 일시
email-field-method = 결제 수단
email-field-payment-id = 결제 ID
email-field-store = 편의점
email-field-konbini-number = 결제 번호
email-field-deadline = 결제 기한
email-seller-info = 특정상거래법에 따른 판매자 정보
email-footer = 이 이메일은 { $merchant }을(를) 대신하여 Paylinks가 보냈습니다. 구매 관련 문의는 위 판매자 정보의 연락처로 해 주세요.

# 계정 소유자에게 보내는 이메일 (Paylinks 발송)
email-verify-subject = Paylinks 이메일 주소 확인
email-verify-intro = Paylinks에 오신 것을 환영합니다. 이 이메일 주소가 본인의 것인지 확인해 주세요. 계정, 비밀번호, 결제 알림에 사용됩니다.
email-verify-action = 이메일 주소 확인하기
email-verify-ttl = 링크는 7일 동안 유효합니다. 주소가 확인되면 라이브 모드를 신청할 수 있습니다.
email-verify-ignore = Paylinks에 가입하지 않으셨다면 이 이메일을 무시하세요. 링크를 열지 않으면 아무 일도 일어나지 않습니다.
email-reset-subject = Paylinks 비밀번호 재설정
email-reset-intro = 이 이메일 주소를 사용하는 Paylinks 계정의 비밀번호 재설정이 요청되었습니다.
email-reset-action = 새 비밀번호 설정하기
email-reset-ttl = 링크는 1시간 이내에 한 번만 사용할 수 있습니다. 새 비밀번호를 설정하면 모든 기기에서 로그아웃됩니다.
email-reset-ignore = 요청하지 않으셨다면 이 이메일을 무시하세요. 비밀번호는 그대로 유지됩니다.
email-account-footer = Paylinks · Paylinks 계정에서 이루어진 작업에 따라 발송된 이메일입니다.
