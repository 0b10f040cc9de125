# Clean: RSA-4096 (but the tls provider keeps it in the state).
resource "tls_private_key" "internal_ca" {
  algorithm = "RSA"
  rsa_bits  = 4096
}

# Weak: ECDSA on the provider's default curve, P-224.
resource "tls_private_key" "device" {
  algorithm = "ECDSA"
}

resource "aws_acm_certificate" "api" {
  domain_name       = "api.payments.example.test"
  validation_method = "DNS"
  key_algorithm     = "EC_prime256v1"
}

# Weak: RSA-1024.
resource "aws_acm_certificate" "legacy" {
  domain_name       = "legacy.payments.example.test"
  validation_method = "DNS"
  key_algorithm     = "RSA_1024"
}

# Clean: TLS 1.2 and 1.3, forward secrecy, AEAD only.
resource "aws_lb_listener" "api" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/api/1"
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
  certificate_arn   = aws_acm_certificate.api.arn
  default_action {
    type             = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/1"
  }
}

# Weak: no ssl_policy, so the 2016 default with TLS 1.0 and 1.1.
resource "aws_lb_listener" "legacy" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/legacy/1"
  port              = 8443
  protocol          = "HTTPS"
  certificate_arn   = aws_acm_certificate.legacy.arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "200"
    }
  }
}

# Not TLS: nothing to judge.
resource "aws_lb_listener" "redirect" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/api/1"
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# Weak: CloudFront's default certificate accepts TLS 1.0.
resource "aws_cloudfront_distribution" "site" {
  enabled = true
  origin {
    domain_name = "site.payments.example.test"
    origin_id   = "site"
  }
  default_cache_behavior {
    target_origin_id       = "site"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
