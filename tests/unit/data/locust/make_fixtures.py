#!/usr/bin/python3
"""Rebuild the Locust wire fixtures used by tests/unit/test_proto_*.c.

Every frame here was sent by a real Locust process (2.12.1 or 2.46.3) and
captured by a fake peer; see docs/protocol.md, "Captures and fixtures".

- Small frames were logged in full as hex: they are copied verbatim.
- Big frames (stats, spawn) were logged as their msgpack-decoded repr
  plus their size and first bytes. Their reprs are copied verbatim below
  and packed again the way Locust packs them (msgpack.packb with
  use_bin_type=True: floats as float64, ints in the smallest encoding,
  dicts in insertion order). Python keeps float keys such as 120.0
  (2.12.1 histograms) and None (2.12.1's stats_total method) as they
  were, so each rebuilt frame has exactly the captured size and first
  bytes, which this script checks.

Run with /usr/bin/python3 (Debian's python3-msgpack); it writes NAME.bin
next to itself:  /usr/bin/python3 tests/unit/data/locust/make_fixtures.py
"""
import ast
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))

# (file name, hex of the whole payload as logged). The comment names the
# capture log (A, B, C, C2, D) and the line the hex comes from.
HEX_FRAMES = [
    # B: [  1.035] <<< RECV ('client_ready', '2.12.1', 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
    ('client_ready-2.12.1',
     '93ac636c69656e745f7265616479a6322e31322e31d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # D: [  1.055] <<< RECV ('client_ready', '2.46.3', 'vm_5fe1a38536744a6d97a6468f0e86e6e2')
    ('client_ready-2.46.3',
     '93ac636c69656e745f7265616479a6322e34362e33d923766d5f3566653161333835333637343461366439376136343638663065383665366532'),  # noqa: E501
    # B: [  1.037] <<< RECV ('heartbeat', {'state': 'ready', 'current_cpu_usage': 0.0, 'current_memory_usage'
    ('heartbeat-2.12.1-ready',
     '93a968656172746265617483a57374617465a57265616479b163757272656e745f6370755f7573616765cb0000000000000000b463757272656e745f6d656d6f72795f7573616765ce035a7000d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # B: [  6.048] <<< RECV ('heartbeat', {'state': 'running', 'current_cpu_usage': 2.2, 'current_memory_usag
    ('heartbeat-2.12.1-running',
     '93a968656172746265617483a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb400199999999999ab463757272656e745f6d656d6f72795f7573616765ce0367c000d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # D: [  1.058] <<< RECV ('heartbeat', {'state': 'ready', 'current_cpu_usage': 0.0, 'current_memory_usage'
    ('heartbeat-2.46.3-ready',
     '93a968656172746265617483a57374617465a57265616479b163757272656e745f6370755f7573616765cb0000000000000000b463757272656e745f6d656d6f72795f757361676500d923766d5f3566653161333835333637343461366439376136343638663065383665366532'),  # noqa: E501
    # D: [ 11.082] <<< RECV ('heartbeat', {'state': 'running', 'current_cpu_usage': 0.0, 'current_memory_usag
    ('heartbeat-2.46.3-running',
     '93a968656172746265617483a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb0000000000000000b463757272656e745f6d656d6f72795f7573616765ce038a0000d923766d5f3566653161333835333637343461366439376136343638663065383665366532'),  # noqa: E501
    # B: [  2.042] <<< RECV ('spawning', None, 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
    ('spawning-2.12.1',
     '93a8737061776e696e67c0d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # B: [  3.049] <<< RECV ('spawning_complete', {'user_classes_count': {'HealthUser': 2, 'OtherUser': 1, 'S
    ('spawning_complete-2.12.1',
     '93b1737061776e696e675f636f6d706c65746582b2757365725f636c61737365735f636f756e7483aa4865616c74685573657202a94f746865725573657201ad53796e7468657469635573657201aa757365725f636f756e7404d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # D: [ 15.096] <<< RECV ('spawning_complete', {'user_classes_count': {'HealthUser': 1, 'OtherUser': 0, 'S
    ('spawning_complete-2.46.3',
     '93b1737061776e696e675f636f6d706c65746582b2757365725f636c61737365735f636f756e7483aa4865616c74685573657201a94f746865725573657200ad53796e7468657469635573657200aa757365725f636f756e7401d923766d5f3566653161333835333637343461366439376136343638663065383665366532'),  # noqa: E501
    # B: [  9.550] <<< RECV ('client_stopped', None, 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
    ('client_stopped-2.12.1',
     '93ae636c69656e745f73746f70706564c0d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # B: [ 14.064] <<< RECV ('quit', None, 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
    ('quit-2.12.1',
     '93a471756974c0d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # B: [  4.043] <<< RECV ('pong', {'got': {'n': 1}}, 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
    ('pong-2.12.1',
     '93a4706f6e6781a3676f7481a16e01d923766d5f6337376230616135636439623431343439646435653137643932633365303166'),  # noqa: E501
    # A: [  0.008] <<< RECV ('ack', {'index': 0}, 'fakehost_18637748e0a44371bf3d109ad402d699')
    ('ack-2.12.1-master',
     '93a361636b81a5696e64657800d92966616b65686f73745f3138363337373438653061343433373162663364313039616434303264363939'),  # noqa: E501
    # C2: [  0.009] <<< RECV ('ack', {'index': 1}, 'otherhost_1f1801f19f0c4ffa9ed6fe025dda1119')
    ('ack-2.46.3-master',
     '93a361636b81a5696e64657801d92a6f74686572686f73745f3166313830316631396630633466666139656436666530323564646131313139'),  # noqa: E501
    # A: [ 17.463] <<< RECV ('stop', None, 'fakehost_18637748e0a44371bf3d109ad402d699')
    ('stop-2.12.1-master',
     '93a473746f70c0d92966616b65686f73745f3138363337373438653061343433373162663364313039616434303264363939'),  # noqa: E501
    # A: [ 22.182] <<< RECV ('reconnect', None, 'fakehost_18637748e0a44371bf3d109ad402d699')
    ('reconnect-2.12.1-master',
     '93a97265636f6e6e656374c0d92966616b65686f73745f3138363337373438653061343433373162663364313039616434303264363939'),  # noqa: E501
    # A: [ 28.210] <<< RECV ('quit', None, 'fakehost_18637748e0a44371bf3d109ad402d699')
    ('quit-2.12.1-master',
     '93a471756974c0d92966616b65686f73745f3138363337373438653061343433373162663364313039616434303264363939'),  # noqa: E501
    # C: [  0.010] <<< RECV ('heartbeat', None, 'fakehost_ab3bbadef2d846d59009910340cde064')
    ('heartbeat-2.46.3-master',
     '93a9686561727462656174c0d92966616b65686f73745f6162336262616465663264383436643539303039393130333430636465303634'),  # noqa: E501
    # C: [  3.097] <<< RECV ('spawning_complete', {'user_count': 4}, 'fakehost_ab3bbadef2d846d59009910340cde0
    ('spawning_complete-2.46.3-master',
     '93b1737061776e696e675f636f6d706c65746581aa757365725f636f756e7404d92966616b65686f73745f6162336262616465663264383436643539303039393130333430636465303634'),  # noqa: E501
    # A: [ 22.181] >>> SENT '<malformed>': our fake worker's
    # packb(['stats', {}, id]) + b'\x01', which a real 2.12.1 master
    # rejected with reconnect (trailing bytes).
    ('malformed-trailing',
     '93a5737461747380d92966616b65686f73745f313836333737343865306134343337316266336431303961643430326436393901'),  # noqa: E501
]

# (file name, captured size, captured first bytes in hex, repr as logged).
REPR_FRAMES = [
    # B [1.038]
    ('stats-2.12.1-first', 391, '93a5737461747385a5737461747390ab73746174735f746f74616c8ea46e616d65aa41676772656761746564a66d6574', r"""
('stats',
 {'stats': [],
  'stats_total': {'name': 'Aggregated',
                  'method': None,
                  'last_request_timestamp': None,
                  'start_time': 1795737091.2095857,
                  'num_requests': 0,
                  'num_none_requests': 0,
                  'num_failures': 0,
                  'total_response_time': 0,
                  'max_response_time': 0,
                  'min_response_time': None,
                  'total_content_length': 0,
                  'response_times': {},
                  'num_reqs_per_sec': {},
                  'num_fail_per_sec': {}},
  'errors': {},
  'user_classes_count': {'HealthUser': 0, 'OtherUser': 0, 'SyntheticUser': 0},
  'user_count': 0},
 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
"""),
    # B [7.045]
    ('stats-2.12.1', 1953, '93a5737461747385a57374617473948ea46e616d65a973796e746865746963a66d6574686f64a6435553544f4db66c61', r"""
('stats',
 {'stats': [{'name': 'synthetic',
             'method': 'CUSTOM',
             'last_request_timestamp': 1795737096.737952,
             'start_time': 1795737094.2198153,
             'num_requests': 42,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 104056.80000000002,
             'max_response_time': 12345.6,
             'min_response_time': 2.5,
             'total_content_length': 0,
             'response_times': {120.0: 6, 140.0: 6, 160.0: 6, 4600.0: 6, 12000.0: 6, 2: 6, 4: 6},
             'num_reqs_per_sec': {1795737094: 14, 1795737095: 14, 1795737096: 14},
             'num_fail_per_sec': {}},
            {'name': '/health',
             'method': 'GET',
             'last_request_timestamp': 1795737097.0910532,
             'start_time': 1795737094.2198224,
             'num_requests': 23,
             'num_none_requests': 0,
             'num_failures': 3,
             'total_response_time': 32.90166399995087,
             'max_response_time': 2.5011449999965407,
             'min_response_time': 0.818066000078943,
             'total_content_length': 345,
             'response_times': {1: 16, 2: 6, 3: 1},
             'num_reqs_per_sec': {1795737094: 8, 1795737095: 4, 1795737096: 9, 1795737097: 2},
             'num_fail_per_sec': {1795737094: 1, 1795737096: 2}},
            {'name': '/',
             'method': 'POST',
             'last_request_timestamp': 1795737096.7477002,
             'start_time': 1795737094.2198303,
             'num_requests': 6,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 9.7615400001132,
             'max_response_time': 1.926980000007461,
             'min_response_time': 1.3633160000381395,
             'total_content_length': 18,
             'response_times': {2: 4, 1: 2},
             'num_reqs_per_sec': {1795737094: 2, 1795737095: 2, 1795737096: 2},
             'num_fail_per_sec': {}},
            {'name': '/item?id=[id]',
             'method': 'GET',
             'last_request_timestamp': 1795737096.2779236,
             'start_time': 1795737095.2741039,
             'num_requests': 4,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 5.001447000040571,
             'max_response_time': 1.459997999972984,
             'min_response_time': 1.0278510000034657,
             'total_content_length': 12,
             'response_times': {1: 4},
             'num_reqs_per_sec': {1795737095: 3, 1795737096: 1},
             'num_fail_per_sec': {}}],
  'stats_total': {'name': 'Aggregated',
                  'method': '',
                  'last_request_timestamp': 1795737097.0910475,
                  'start_time': 1795737094.219836,
                  'num_requests': 75,
                  'num_none_requests': 0,
                  'num_failures': 3,
                  'total_response_time': 104104.46465100013,
                  'max_response_time': 12345.6,
                  'min_response_time': 0.818066000078943,
                  'total_content_length': 375,
                  'response_times': {120.0: 6, 140.0: 6, 160.0: 6, 4600.0: 6, 12000.0: 6, 2: 16, 4: 6, 1: 22, 3: 1},
                  'num_reqs_per_sec': {1795737094: 24, 1795737095: 23, 1795737096: 26, 1795737097: 2},
                  'num_fail_per_sec': {1795737094: 1, 1795737096: 2}},
  'errors': {'890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31': {'name': '/health',
                                                                                  'method': 'GET',
                                                                                  'error': "CatchResponseError('body did not match')",
                                                                                  'occurrences': 3}},
  'user_classes_count': {'HealthUser': 2, 'OtherUser': 1, 'SyntheticUser': 1},
  'user_count': 4},
 'vm_c77b0aa5cd9b41449dd5e17d92c3e01f')
"""),
    # D [10.071]
    ('stats-2.46.3', 2469, '93a5737461747385a57374617473958ea46e616d65a973796e746865746963a66d6574686f64a6435553544f4db66c61', r"""
('stats',
 {'stats': [{'name': 'synthetic',
             'method': 'CUSTOM',
             'last_request_timestamp': 1795737233.0831397,
             'start_time': 1795737230.5465682,
             'num_requests': 42,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 104056.80000000002,
             'max_response_time': 12345.6,
             'min_response_time': 2.5,
             'total_content_length': 0,
             'response_times': {120: 6, 140: 6, 160: 6, 4600: 6, 12000: 6, 2: 6, 4: 6},
             'num_reqs_per_sec': {1795737230: 7, 1795737231: 14, 1795737232: 14, 1795737233: 7},
             'num_fail_per_sec': {}},
            {'name': '/health',
             'method': 'GET',
             'last_request_timestamp': 1795737233.4947233,
             'start_time': 1795737230.5466259,
             'num_requests': 22,
             'num_none_requests': 0,
             'num_failures': 4,
             'total_response_time': 40.202051999699506,
             'max_response_time': 6.0559290000128385,
             'min_response_time': 1.0445529999287828,
             'total_content_length': 330,
             'response_times': {1: 14, 2: 3, 3: 4, 6: 1},
             'num_reqs_per_sec': {1795737230: 4, 1795737231: 6, 1795737232: 8, 1795737233: 4},
             'num_fail_per_sec': {1795737230: 1, 1795737232: 2, 1795737233: 1}},
            {'name': '/item?id=[id]',
             'method': 'GET',
             'last_request_timestamp': 1795737232.8819606,
             'start_time': 1795737230.5466313,
             'num_requests': 4,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 7.134908000125506,
             'max_response_time': 2.410914000051889,
             'min_response_time': 1.2063090000538068,
             'total_content_length': 12,
             'response_times': {2: 2, 1: 2},
             'num_reqs_per_sec': {1795737231: 3, 1795737232: 1},
             'num_fail_per_sec': {}},
            {'name': 'refused',
             'method': 'GET',
             'last_request_timestamp': 1795737233.0884206,
             'start_time': 1795737230.5466363,
             'num_requests': 3,
             'num_none_requests': 0,
             'num_failures': 3,
             'total_response_time': 8.096847000047092,
             'max_response_time': 5.1803970000037225,
             'min_response_time': 1.321576999998797,
             'total_content_length': 0,
             'response_times': {2: 1, 1: 1, 5: 1},
             'num_reqs_per_sec': {1795737232: 1, 1795737233: 2},
             'num_fail_per_sec': {1795737232: 1, 1795737233: 2}},
            {'name': '/',
             'method': 'POST',
             'last_request_timestamp': 1795737233.1059234,
             'start_time': 1795737230.5466413,
             'num_requests': 6,
             'num_none_requests': 0,
             'num_failures': 0,
             'total_response_time': 10.275900999999976,
             'max_response_time': 3.722971999991387,
             'min_response_time': 1.0670249999975567,
             'total_content_length': 18,
             'response_times': {1: 4, 4: 1, 2: 1},
             'num_reqs_per_sec': {1795737230: 1, 1795737231: 2, 1795737232: 2, 1795737233: 1},
             'num_fail_per_sec': {}}],
  'stats_total': {'name': 'Aggregated',
                  'method': '',
                  'last_request_timestamp': 1795737233.4947133,
                  'start_time': 1795737230.546648,
                  'num_requests': 77,
                  'num_none_requests': 0,
                  'num_failures': 7,
                  'total_response_time': 104122.5097079999,
                  'max_response_time': 12345.6,
                  'min_response_time': 1.0445529999287828,
                  'total_content_length': 360,
                  'response_times': {120: 6, 140: 6, 160: 6, 4600: 6, 12000: 6, 2: 13, 4: 7, 1: 21, 3: 4, 6: 1, 5: 1},
                  'num_reqs_per_sec': {1795737230: 12, 1795737231: 25, 1795737232: 26, 1795737233: 14},
                  'num_fail_per_sec': {1795737230: 1, 1795737232: 3, 1795737233: 3}},
  'errors': {'890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31': {'name': '/health',
                                                                                  'method': 'GET',
                                                                                  'error': "CatchResponseError('body did not match')",
                                                                                  'occurrences': 4,
                                                                                  'first_seen': 1795737230.849736,
                                                                                  'last_seen': 1795737233.292491},
             'dd0cb59aa487825ab3e9c886599ab24a76a8c5cb51fa7fed4c523b04097d0d87': {'name': 'refused',
                                                                                  'method': 'GET',
                                                                                  'error': "ConnectionRefusedError(111, 'Connection refused')",
                                                                                  'occurrences': 3,
                                                                                  'first_seen': 1795737232.8703754,
                                                                                  'last_seen': 1795737233.088464}},
  'user_classes_count': {'HealthUser': 2, 'OtherUser': 1, 'SyntheticUser': 1},
  'user_count': 4},
 'vm_5fe1a38536744a6d97a6468f0e86e6e2')
"""),
    # A [2.041]
    ('spawn-2.12.1-master', 885, '93a5737061776e85a974696d657374616d70cb41dac2317237f994b2757365725f636c61737365735f636f756e7483aa4865616c74685573657201a94f746865', r"""
('spawn',
 {'timestamp': 1795737032.874608,
  'user_classes_count': {'HealthUser': 1, 'OtherUser': 0, 'SyntheticUser': 1},
  'host': 'http://127.0.0.1:8088',
  'stop_timeout': None,
  'parsed_options': {'locustfile': 'lf.py',
                     'config': None,
                     'host': None,
                     'num_users': None,
                     'spawn_rate': None,
                     'hatch_rate': 0,
                     'run_time': None,
                     'list_commands': False,
                     'web_host': '127.0.0.1',
                     'web_port': 18089,
                     'headless': False,
                     'autostart': False,
                     'autoquit': -1,
                     'headful': False,
                     'web_auth': None,
                     'tls_cert': '',
                     'tls_key': '',
                     'class_picker': False,
                     'master': True,
                     'master_bind_host': '127.0.0.1',
                     'master_bind_port': 15558,
                     'expect_workers': 1,
                     'expect_workers_max_wait': 0,
                     'expect_slaves': False,
                     'worker': False,
                     'slave': False,
                     'master_host': '127.0.0.1',
                     'master_port': 5557,
                     'tags': None,
                     'exclude_tags': None,
                     'csv_prefix': None,
                     'stats_history_enabled': False,
                     'print_stats': False,
                     'only_summary': False,
                     'reset_stats': False,
                     'html_file': None,
                     'skip_log_setup': False,
                     'loglevel': 'INFO',
                     'logfile': None,
                     'step_load': False,
                     'step_users': None,
                     'step_clients': False,
                     'step_time': None,
                     'show_task_ratio': False,
                     'show_task_ratio_json': False,
                     'exit_code_on_error': 1,
                     'stop_timeout': None,
                     'equal_weights': False,
                     'enable_rebalancing': False,
                     'user_classes': [],
                     'my_arg': 'from-ui'}},
 'fakehost_18637748e0a44371bf3d109ad402d699')
"""),
    # C [2.042]
    ('spawn-2.46.3-master', 998, '93a5737061776e85a974696d657374616d70cb41dac231991611fab2757365725f636c61737365735f636f756e7483aa4865616c74685573657201a94f746865', r"""
('spawn',
 {'timestamp': 1795737188.3448472,
  'user_classes_count': {'HealthUser': 1, 'OtherUser': 0, 'SyntheticUser': 1},
  'host': 'http://127.0.0.1:8088',
  'stop_timeout': 0.0,
  'parsed_options': {'locustfile': 'lf.py',
                     'config': None,
                     'host': 'http://127.0.0.1:8088',
                     'num_users': None,
                     'spawn_rate': 2.0,
                     'run_time': None,
                     'list_commands': False,
                     'config_users': None,
                     'web_host': '127.0.0.1',
                     'web_host_display_name': None,
                     'web_port': 18090,
                     'headless': False,
                     'autostart': False,
                     'autoquit': -1,
                     'headful': False,
                     'web_auth': None,
                     'web_login': False,
                     'tls_cert': '',
                     'tls_key': '',
                     'class_picker': False,
                     'build_path': '',
                     'legacy_ui': False,
                     'master': True,
                     'master_bind_host': '127.0.0.1',
                     'master_bind_port': 15561,
                     'expect_workers': 1,
                     'expect_workers_max_wait': 0,
                     'enable_rebalancing': False,
                     'expect_slaves': None,
                     'worker': False,
                     'processes': None,
                     'slave': None,
                     'master_host': '127.0.0.1',
                     'master_port': 5557,
                     'web_base_path': '',
                     'tags': None,
                     'exclude_tags': None,
                     'csv_prefix': None,
                     'stats_history_enabled': False,
                     'print_stats': False,
                     'only_summary': False,
                     'reset_stats': False,
                     'html_file': None,
                     'json': False,
                     'json_file': None,
                     'skip_log_setup': False,
                     'loglevel': 'INFO',
                     'logfile': None,
                     'show_task_ratio': False,
                     'show_task_ratio_json': False,
                     'exit_code_on_error': 1,
                     'stop_timeout': 0,
                     'equal_weights': False,
                     'profile': None,
                     'otel': False,
                     'user_classes': [],
                     'my_arg': 'from-ui',
                     'users': 4}},
 'fakehost_ab3bbadef2d846d59009910340cde064')
"""),
]


def write(name, payload):
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(payload)


def main():
    for name, hex_text in HEX_FRAMES:
        payload = bytes.fromhex(hex_text)
        if not name.startswith("malformed"):
            message = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            assert isinstance(message, list) and len(message) == 3, name
        write(name, payload)
    for name, size, prefix, text in REPR_FRAMES:
        message = ast.literal_eval(text)
        payload = msgpack.packb(message, use_bin_type=True)
        if len(payload) != size or not payload.hex().startswith(prefix):
            sys.exit("%s: rebuilt %d bytes, captured %d" % (name, len(payload), size))
        write(name, payload)
    print("wrote %d fixtures to %s" % (len(HEX_FRAMES) + len(REPR_FRAMES), HERE))


if __name__ == "__main__":
    main()
