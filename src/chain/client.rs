//! An RPC client for the `TruffleRegistry` contract (alloy).

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, TxHash};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use anyhow::Context as _;

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TruffleRegistry,
    "contracts/artifacts/TruffleRegistry.json"
);

/// Where an event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    pub tx_hash: TxHash,
    pub block_number: u64,
}

/// A connection to one chain and one registry. Reads need no key; writes use the anchoring key.
#[derive(Clone)]
pub struct ChainClient {
    provider: DynProvider,
    registry: Address,
    pub chain_id: u64,
}

fn url(rpc_url: &str) -> anyhow::Result<reqwest::Url> {
    rpc_url
        .parse()
        .with_context(|| format!("{rpc_url:?} is not a URL"))
}

impl ChainClient {
    /// A read-only client (for verification).
    pub fn read_only(rpc_url: &str, registry: Address, chain_id: u64) -> anyhow::Result<Self> {
        let provider = ProviderBuilder::new().connect_http(url(rpc_url)?).erased();
        Ok(ChainClient {
            provider,
            registry,
            chain_id,
        })
    }

    /// A client that signs transactions with the anchoring key.
    pub fn with_signer(
        rpc_url: &str,
        registry: Address,
        chain_id: u64,
        key: &str,
    ) -> anyhow::Result<Self> {
        let signer: PrivateKeySigner = key.parse().context("anchoring key")?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url(rpc_url)?)
            .erased();
        Ok(ChainClient {
            provider,
            registry,
            chain_id,
        })
    }

    pub fn registry(&self) -> Address {
        self.registry
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn contract(&self) -> TruffleRegistry::TruffleRegistryInstance<&DynProvider> {
        TruffleRegistry::new(self.registry, &self.provider)
    }

    pub async fn rpc_chain_id(&self) -> anyhow::Result<u64> {
        Ok(self.provider.get_chain_id().await?)
    }

    pub async fn block_number(&self) -> anyhow::Result<u64> {
        Ok(self.provider.get_block_number().await?)
    }

    /// Is there contract code at the registry address?
    pub async fn registry_deployed(&self) -> anyhow::Result<bool> {
        Ok(!self.provider.get_code_at(self.registry).await?.is_empty())
    }

    /// Block time at which `root` was anchored; 0 when it was not.
    pub async fn anchored_at(&self, root: B256) -> anyhow::Result<u64> {
        Ok(self.contract().anchoredAt(root).call().await?)
    }

    /// Block time at which the record `content_hash` was revoked; 0 when it was not.
    pub async fn revoked_at(&self, content_hash: B256) -> anyhow::Result<u64> {
        Ok(self.contract().revokedAt(content_hash).call().await?)
    }

    /// Sends `anchor(root)` and returns once the node has accepted it (not mined).
    pub async fn send_anchor(&self, root: B256) -> anyhow::Result<TxHash> {
        let pending = self.contract().anchor(root).send().await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_revoke(&self, content_hash: B256) -> anyhow::Result<TxHash> {
        let pending = self.contract().revoke(content_hash).send().await?;
        Ok(*pending.tx_hash())
    }

    /// The `Anchored` event of `root`, wherever it is on chain.
    pub async fn find_anchored(&self, root: B256) -> anyhow::Result<Option<Landed>> {
        self.find_event(TruffleRegistry::Anchored::SIGNATURE_HASH, root)
            .await
    }

    pub async fn find_revoked(&self, content_hash: B256) -> anyhow::Result<Option<Landed>> {
        self.find_event(TruffleRegistry::Revoked::SIGNATURE_HASH, content_hash)
            .await
    }

    async fn find_event(&self, signature: B256, topic1: B256) -> anyhow::Result<Option<Landed>> {
        let filter = Filter::new()
            .address(self.registry)
            .event_signature(signature)
            .topic1(topic1)
            .from_block(0);
        let logs = self.provider.get_logs(&filter).await?;
        Ok(logs.first().and_then(|log| {
            Some(Landed {
                tx_hash: log.transaction_hash?,
                block_number: log.block_number?,
            })
        }))
    }

    /// The block's timestamp (seconds).
    pub async fn block_time(&self, number: u64) -> anyhow::Result<u64> {
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await?
            .with_context(|| format!("block {number} not found"))?;
        Ok(block.header.timestamp)
    }

    /// Gas used by a mined transaction.
    pub async fn gas_used(&self, tx: TxHash) -> anyhow::Result<Option<u64>> {
        Ok(self
            .provider
            .get_transaction_receipt(tx)
            .await?
            .map(|r| r.gas_used))
    }
}

/// Deploys a registry whose first anchoring key is `anchorer`, signed by `deployer_key`.
pub async fn deploy_registry(
    rpc_url: &str,
    deployer_key: &str,
    anchorer: Address,
) -> anyhow::Result<Address> {
    let signer: PrivateKeySigner = deployer_key.parse().context("deployer key")?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url(rpc_url)?);
    let contract = tokio::time::timeout(
        Duration::from_secs(60),
        TruffleRegistry::deploy(&provider, anchorer),
    )
    .await
    .context("deploying the registry timed out")??;
    Ok(*contract.address())
}
