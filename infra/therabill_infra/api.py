"""The REST API: Cognito-authorized staff routes, self-authenticating public routes, the webhook."""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from therabill_infra.contract import contract
from therabill_infra.logs import LogGroups
from therabill_infra.mail import Mail
from therabill_infra.nag import acknowledge

STAGE_NAME = "v1"
# Whole-stage throttling, and a tighter limit on the public routes: they are reachable by anyone
# and take invoice numbers with access codes, so guessing must be slow.
STAGE_RATE_LIMIT = 50
STAGE_BURST_LIMIT = 100
PUBLIC_RATE_LIMIT = 10
PUBLIC_BURST_LIMIT = 20
# Sign-up creates a practice and a user: tighter still (the function also limits per source IP
# and per email address).
SIGNUP_PATH = "/signup"
SIGNUP_RATE_LIMIT = 1
SIGNUP_BURST_LIMIT = 5
ANY = "ANY"
PROXY = "{proxy+}"
AUTHORIZATION_HEADER = "method.request.header.Authorization"
STRIPE_SIGNATURE_HEADER = "method.request.header.Stripe-Signature"

# Access log fields. resourcePath (the route template), never path: paths carry invoice numbers
# and signed tokens. The authorizer's sub is an opaque id.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "sub": "$context.authorizer.claims.sub",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


def _method_key(path: str) -> str:
    return f"{path}/{ANY}"


def custom_attribute_name(claim: str) -> str:
    """``custom:practice_id`` -> ``practice_id`` (Cognito adds the ``custom:`` prefix itself)."""
    return claim.removeprefix("custom:")


class Api(Construct):
    user_pool: cognito.UserPool
    user_pool_client: cognito.UserPoolClient
    rest_api: apigw.RestApi
    authorizer: apigw.CognitoUserPoolsAuthorizer

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, log_groups: LogGroups, mail: Mail
    ) -> None:
        super().__init__(scope, construct_id)
        self._build_user_pool(stage, mail)

        access_logs = log_groups.log_group(self, "AccessLogs")
        # A method override replaces the stage defaults for that method, so it repeats them.
        public_throttle = apigw.MethodDeploymentOptions(
            throttling_rate_limit=PUBLIC_RATE_LIMIT,
            throttling_burst_limit=PUBLIC_BURST_LIMIT,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
            metrics_enabled=True,
        )
        method_options = {}
        for prefix in contract.PUBLIC_API_PREFIXES:
            method_options[_method_key(prefix)] = public_throttle
            method_options[_method_key(f"{prefix}/{PROXY}")] = public_throttle
        signup_throttle = apigw.MethodDeploymentOptions(
            throttling_rate_limit=SIGNUP_RATE_LIMIT,
            throttling_burst_limit=SIGNUP_BURST_LIMIT,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
            metrics_enabled=True,
        )
        method_options[_method_key(SIGNUP_PATH)] = signup_throttle
        method_options[_method_key(f"{SIGNUP_PATH}/{PROXY}")] = signup_throttle

        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"therabill-{stage}",
            description=f"Therabill {stage}: staff API, public pages and the Stripe webhook",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes execution and access logs through the account's CloudWatch role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            fail_on_warnings=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
                # Execution logs at ERROR without request/response bodies: bodies carry PHI/tokens.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=STAGE_RATE_LIMIT,
                throttling_burst_limit=STAGE_BURST_LIMIT,
                method_options=method_options,
            ),
        )
        self._add_gateway_responses()
        self.validator = apigw.RequestValidator(
            self,
            "RequestValidator",
            rest_api=self.rest_api,
            # Required headers are checked before Lambda runs. No method declares a body model
            # (API Gateway then skips body validation): bodies are validated by the handlers'
            # pydantic models, whose errors name the field, and Stripe's by its signature.
            validate_request_parameters=True,
            validate_request_body=True,
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "StaffAuthorizer",
            cognito_user_pools=[self.user_pool],
            identity_source="method.request.header.Authorization",
            results_cache_ttl=Duration.minutes(5),
        )
        self._acknowledge_stage()

    def _add_gateway_responses(self) -> None:
        """API Gateway's own answers in the APIs' error body (``code``, ``message``, ``details``):
        a method and path no route serves is a 404 naming them (API Gateway's default is a 403
        "Missing Authentication Token"); a missing, bad or expired staff token a 401."""
        no_route = contract.no_route_body("$context.httpMethod", "$context.path")
        self.rest_api.add_gateway_response(
            "NoRoute",
            type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code=str(contract.NO_ROUTE_STATUS),
            templates={"application/json": json.dumps(no_route)},
        )
        unauthorized = (
            f'{{"code": "{contract.UNAUTHORIZED_CODE}", '
            '"message": $context.error.messageString, "details": {}}'
        )
        self.rest_api.add_gateway_response(
            "Unauthorized",
            type=apigw.ResponseType.UNAUTHORIZED,
            status_code="401",
            templates={"application/json": unauthorized},
            response_headers={"WWW-Authenticate": "'Bearer'"},
        )

    @property
    def stage_url(self) -> str:
        """The stage's base URL without a trailing slash.

        Built from the RestApi id (not the Stage) so functions can receive it as environment
        without a dependency cycle (stage -> deployment -> methods -> functions).
        """
        return f"https://{self.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE_NAME}"

    def add_routes(
        self,
        *,
        staff: lambda_.IFunction,
        public: lambda_.IFunction,
        webhook: lambda_.IFunction,
    ) -> None:
        staff_integration = apigw.LambdaIntegration(staff, allow_test_invoke=False)
        for prefix in contract.STAFF_API_PREFIXES:
            for resource in self._prefix_resources(prefix):
                resource.add_method(
                    ANY,
                    staff_integration,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                    authorizer=self.authorizer,
                    request_validator=self.validator,
                    request_parameters={AUTHORIZATION_HEADER: True},
                )

        public_integration = apigw.LambdaIntegration(public, allow_test_invoke=False)
        for prefix in contract.PUBLIC_API_PREFIXES:
            for resource in self._prefix_resources(prefix):
                method = resource.add_method(
                    ANY,
                    public_integration,
                    authorization_type=apigw.AuthorizationType.NONE,
                    request_validator=self.validator,
                )
                acknowledge(
                    method,
                    "Public pages are opened by patients without an account: each request "
                    "authenticates itself with an invoice number plus access code or a signed, "
                    "expiring link token, checked by the function; the route is throttled.",
                    "AwsSolutions-APIG4",
                    "AwsSolutions-COG4",
                )

        webhook_method = self.rest_api.root.resource_for_path(contract.WEBHOOK_PATH).add_method(
            "POST",
            apigw.LambdaIntegration(webhook, allow_test_invoke=False),
            authorization_type=apigw.AuthorizationType.NONE,
            request_validator=self.validator,
            request_parameters={STRIPE_SIGNATURE_HEADER: True},
        )
        acknowledge(
            webhook_method,
            "Stripe cannot present Cognito tokens: the webhook authenticates each event by its "
            "Stripe-Signature (HMAC of the raw body with the endpoint secret), which API Gateway "
            "requires to be present and the function verifies.",
            "AwsSolutions-APIG4",
            "AwsSolutions-COG4",
        )

    def _prefix_resources(self, prefix: str) -> list[apigw.Resource]:
        """The prefix itself and every path below it."""
        resource = self.rest_api.root.resource_for_path(prefix)
        return [resource, resource.add_resource(PROXY)]

    def _build_user_pool(self, stage: str, mail: Mail) -> None:
        practice_id = custom_attribute_name(contract.CLAIM_PRACTICE_ID)
        role = custom_attribute_name(contract.CLAIM_ROLE)
        staff_id = custom_attribute_name(contract.CLAIM_STAFF_ID)
        self.user_pool = cognito.UserPool(
            self,
            "StaffUserPool",
            user_pool_name=f"therabill-{stage}-staff",
            # Staff accounts are created by an administrator of their practice (or by the sign-up
            # service for a new practice's owner), never by Cognito's own self-service sign-up.
            self_sign_up_enabled=False,
            # Each user is named by their staff id (adapters/cognito.py) and signs in with their
            # email as an alias: with email as the username attribute, AdminCreateUser refuses a
            # user name that is not an email.
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # Invitations and reset codes go out through the stack's SES identity, not Cognito's
            # built-in sender (a small daily quota shared by every practice: sign-ups and
            # invitations past it would fail for the rest of the day).
            email=cognito.UserPoolEmail.with_ses(
                from_email=mail.sender,
                from_name="Therabill",
                configuration_set_name=mail.configuration_set.configuration_set_name,
                ses_region=Stack.of(self).region,
            ),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            custom_attributes={
                # The tenant of a user never changes; a move is a new account.
                practice_id: cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
                # The staff member a user is (their staff item): set once, at the invitation.
                staff_id: cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
                role: cognito.StringAttribute(min_len=1, max_len=32, mutable=True),
            },
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.user_pool_client = self.user_pool.add_client(
            "StaffWebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, fullname=True)
            .with_custom_attributes(practice_id, role, staff_id),
            # Users may never write their own tenant or role: only administrators can
            # (AdminUpdateUserAttributes), so the claims the staff API trusts cannot be forged.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(fullname=True),
        )

    def _acknowledge_stage(self) -> None:
        stage = self.rest_api.deployment_stage
        acknowledge(
            stage,
            "Caching is deliberately off: responses are per user and per practice and carry "
            "billing data, so a shared cache could serve one tenant's data to another.",
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        )
        acknowledge(
            stage,
            "Client certificates authenticate API Gateway to HTTP backends; every integration "
            "here is an AWS_PROXY Lambda integration invoked through IAM, with no HTTP backend.",
            "HIPAA.Security-APIGWSSLEnabled",
        )
        cloud_watch_role = self.rest_api.node.try_find_child("CloudWatchRole")
        if cloud_watch_role is not None:
            acknowledge(
                cloud_watch_role,
                "The account-level API Gateway logging role uses AWS's own policy for it "
                "(AmazonAPIGatewayPushToCloudWatchLogs), the documented way to enable API logs.",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
            )
